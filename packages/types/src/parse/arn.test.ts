import { describe, expect, it } from 'vitest';
import { EventParseError } from '../errors.js';
import { type EcsArnKind, InvalidArnError, isEcsArn, isEcsName, parseEcsArn, requireEcsArn } from './arn.js';
import { parseContainerInstance } from './container-instance.js';
import { parseEventBody } from './event-body.js';
import { parseDescribedTask } from './task.js';
import { parseTaskDefinition } from './task-definition.js';

const P = 'arn:aws:ecs:us-east-1:111122223333:';
const HEX = '0123456789abcdef0123456789abcdef';
const UUID = '8a3f1c2e-4b5d-4e6f-9a0b-1c2d3e4f5a6b';

describe('parseEcsArn: what ECS names look like', () => {
  it.each<[string, EcsArnKind, string, Record<string, unknown>]>([
    ['cluster', 'cluster', `${P}cluster/prod-1_a`, { cluster: 'prod-1_a' }],
    ['task, long format', 'task', `${P}task/prod/${HEX}`, { cluster: 'prod', id: HEX }],
    ['task, short (pre-2018) format', 'task', `${P}task/${HEX}`, { id: HEX }],
    ['task, legacy UUID id', 'task', `${P}task/${UUID}`, { id: UUID }],
    ['task, long format with a UUID', 'task', `${P}task/prod/${UUID}`, { cluster: 'prod', id: UUID }],
    [
      'task definition',
      'task-definition',
      `${P}task-definition/web_app-2:17`,
      { family: 'web_app-2', revision: 17 },
    ],
    [
      'container instance',
      'container-instance',
      `${P}container-instance/prod/${HEX}`,
      { cluster: 'prod', id: HEX },
    ],
    ['container instance, short', 'container-instance', `${P}container-instance/${UUID}`, { id: UUID }],
    [
      'service, long format',
      'service',
      `${P}service/prod/web-api_2`,
      { cluster: 'prod', service: 'web-api_2' },
    ],
    ['service, short (pre-2018) format', 'service', `${P}service/web`, { service: 'web' }],
    [
      'GovCloud partition',
      'cluster',
      'arn:aws-us-gov:ecs:us-gov-west-1:111122223333:cluster/c',
      { partition: 'aws-us-gov', region: 'us-gov-west-1' },
    ],
    [
      'China partition',
      'cluster',
      'arn:aws-cn:ecs:cn-north-1:111122223333:cluster/c',
      { partition: 'aws-cn', region: 'cn-north-1' },
    ],
    [
      'ISO-B partition',
      'cluster',
      'arn:aws-iso-b:ecs:us-isob-east-1:111122223333:cluster/c',
      { partition: 'aws-iso-b' },
    ],
  ])('accepts a %s', (_what, kind, arn, parts) => {
    const parsed = parseEcsArn(arn, kind);
    expect(parsed).toMatchObject({ kind, account: '111122223333', ...parts });
    expect(isEcsArn(arn, kind)).toBe(true);
    expect(requireEcsArn(arn, kind, 'x')).toBe(arn);
  });

  const hostile = [';', '{', '}', '\n', '$', '"', "'", '`', ' ', '\\', '/', '#', '\u0000', '\r', '\t'];
  const taskCases: [string, string][] = [
    ...hostile.map((c): [string, string] => [
      `task id holding ${JSON.stringify(c)}`,
      `${P}task/prod/${HEX.slice(0, 16)}${c}${HEX.slice(17)}`,
    ]),
    ...hostile.map((c): [string, string] => [
      `task id ending in ${JSON.stringify(c)}`,
      `${P}task/prod/${HEX}${c}`,
    ]),
    ...hostile
      .filter((c) => c !== '/')
      .map((c): [string, string] => [
        `cluster segment holding ${JSON.stringify(c)}`,
        `${P}task/pr${c}od/${HEX}`,
      ]),
    ['an upper-case hex id', `${P}task/prod/${HEX.toUpperCase()}`],
    ['a 31-digit id', `${P}task/prod/${HEX.slice(1)}`],
    ['a 33-digit id', `${P}task/prod/${HEX}0`],
    ['a non-hex id', `${P}task/prod/${HEX.slice(0, 31)}g`],
    ['a UUID without dashes in the right places', `${P}task/prod/8a3f1c2e4-b5d-4e6f-9a0b-1c2d3e4f5a6b`],
    ['an empty id', `${P}task/prod/`],
    ['an extra path segment', `${P}task/prod/x/${HEX}`],
    ['a leading newline', `\n${P}task/prod/${HEX}`],
    ['leading space', ` ${P}task/prod/${HEX}`],
    ['another service', `arn:aws:ec2:us-east-1:111122223333:task/prod/${HEX}`],
    ['another partition word', `arn:azure:ecs:us-east-1:111122223333:task/prod/${HEX}`],
    ['an 11-digit account', `arn:aws:ecs:us-east-1:11112222333:task/prod/${HEX}`],
    ['a region without a number', `arn:aws:ecs:us-east:111122223333:task/prod/${HEX}`],
    ['an upper-case region', `arn:aws:ecs:US-EAST-1:111122223333:task/prod/${HEX}`],
    ['a task-definition ARN', `${P}task-definition/web:1`],
    ['a bare id', HEX],
    ['nothing', ''],
    ['a 256-character cluster name', `${P}task/${'c'.repeat(256)}/${HEX}`],
  ];
  it.each(taskCases)('refuses a task ARN with %s', (_what, arn) => {
    expect(parseEcsArn(arn, 'task')).toBeUndefined();
    expect(isEcsArn(arn, 'task')).toBe(false);
    const err = (() => {
      try {
        requireEcsArn(arn, 'task', 'detail.taskArn');
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(InvalidArnError);
    expect(err).toBeInstanceOf(EventParseError);
    expect((err as InvalidArnError).code).toBe('ECS_INGRESS_ARN_INVALID');
    expect((err as InvalidArnError).reason).toBe('invalid-arn:detail.taskArn');
  });

  it.each<[string, EcsArnKind, string]>([
    ['revision 0', 'task-definition', `${P}task-definition/web:0`],
    ['no revision', 'task-definition', `${P}task-definition/web`],
    ['a negative revision', 'task-definition', `${P}task-definition/web:-1`],
    ['a family holding ";"', 'task-definition', `${P}task-definition/we;b:1`],
    ['a family holding "{"', 'task-definition', `${P}task-definition/we{b:1`],
    ['a family holding "$"', 'task-definition', `${P}task-definition/we$b:1`],
    ['a family holding a quote', 'task-definition', `${P}task-definition/we"b:1`],
    ['a revision then a newline', 'task-definition', `${P}task-definition/web:1\n`],
    ['a cluster name holding "}"', 'cluster', `${P}cluster/pro}d`],
    ['a cluster name holding a newline', 'cluster', `${P}cluster/prod\n`],
    ['a cluster ARN with a path', 'cluster', `${P}cluster/prod/x`],
    [
      'a container instance id holding ";"',
      'container-instance',
      `${P}container-instance/prod/${HEX.slice(0, 31)};`,
    ],
    ['a container instance of another kind', 'container-instance', `${P}task/prod/${HEX}`],
    ['a service name holding ";"', 'service', `${P}service/prod/we;b`],
    ['a service ARN with a deeper path', 'service', `${P}service/prod/web/x`],
  ])('refuses %s', (_what, kind, arn) => {
    expect(parseEcsArn(arn, kind)).toBeUndefined();
    expect(() => requireEcsArn(arn, kind, kind)).toThrow(InvalidArnError);
  });

  it('refuses non-strings and absurdly long strings', () => {
    expect(parseEcsArn(42, 'task')).toBeUndefined();
    expect(parseEcsArn(undefined, 'cluster')).toBeUndefined();
    expect(isEcsArn(`${P}cluster/${'c'.repeat(2000)}`, 'cluster')).toBe(false);
  });

  it('keeps the kinds apart even for ARNs it has seen before', () => {
    const cluster = `${P}cluster/cached`;
    expect(requireEcsArn(cluster, 'cluster', 'c')).toBe(cluster);
    expect(() => requireEcsArn(cluster, 'task-definition', 'td')).toThrow(InvalidArnError);
  });

  it.each([
    ['web', true],
    ['a_b-C9', true],
    ['x'.repeat(255), true],
    ['x'.repeat(256), false],
    ['', false],
    ['we b', false],
    ['we;b', false],
    ['we{b', false],
    ['web}', false],
    ['web\n', false],
    ['$web', false],
    ['"web"', false],
  ])('service name %j valid: %s', (name, valid) => {
    expect(isEcsName(name)).toBe(valid);
  });
});

describe('parsers refuse what the grammar refuses (nothing reaches the store)', () => {
  const task = (over: Record<string, unknown>) => ({
    taskArn: `${P}task/prod/${HEX}`,
    clusterArn: `${P}cluster/prod`,
    taskDefinitionArn: `${P}task-definition/web:1`,
    group: 'service:web',
    lastStatus: 'RUNNING',
    desiredStatus: 'RUNNING',
    version: 1,
    ...over,
  });
  const event = (detail: Record<string, unknown>) =>
    JSON.stringify({
      version: '0',
      id: 'e1',
      'detail-type': 'ECS Task State Change',
      source: 'aws.ecs',
      account: '111122223333',
      time: '2024-03-05T10:15:42Z',
      region: 'us-east-1',
      resources: [],
      detail,
    });

  it('accepts the well-formed task', () => {
    expect(parseEventBody(event(task({}))).events[0]?.kind).toBe('task');
  });

  it.each([';', '{', '}', '\n', '$', '"', "'"])('refuses an event whose task id holds %j', (c) => {
    const body = event(task({ taskArn: `${P}task/prod/${HEX.slice(0, 20)}${c}${HEX.slice(21)}` }));
    expect(() => parseEventBody(body)).toThrow(
      expect.objectContaining({ code: 'ECS_INGRESS_ARN_INVALID', reason: 'invalid-arn:detail.taskArn' }),
    );
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['cluster', { clusterArn: `${P}cluster/pr;od` }, 'invalid-arn:detail.clusterArn'],
    [
      'task definition',
      { taskDefinitionArn: `${P}task-definition/web:1;` },
      'invalid-arn:detail.taskDefinitionArn',
    ],
    [
      'container instance',
      { containerInstanceArn: `${P}container-instance/prod/{x}` },
      'invalid-arn:detail.containerInstanceArn',
    ],
    ['service name', { group: 'service:web;evil' }, 'invalid-field:detail.group'],
  ])('refuses an event with a bad %s', (_what, over, reason) => {
    expect(() => parseEventBody(event(task(over)))).toThrow(expect.objectContaining({ reason }));
  });

  it('refuses the same in DescribeTasks answers', () => {
    expect(() => parseDescribedTask(task({ taskArn: `${P}task/prod/${HEX}$` }), 1)).toThrow(InvalidArnError);
  });

  it('refuses a task definition whose ARN names another revision than its body, and a bad container instance', () => {
    const td = { family: 'web', revision: 2, containerDefinitions: [] };
    expect(parseTaskDefinition({ ...td, taskDefinitionArn: `${P}task-definition/web:2` }).revision).toBe(2);
    expect(() => parseTaskDefinition({ ...td, taskDefinitionArn: `${P}task-definition/web:3` })).toThrow(
      InvalidArnError,
    );
    expect(() => parseTaskDefinition({ ...td, taskDefinitionArn: 'web:2' })).toThrow(InvalidArnError);
    expect(() => parseContainerInstance({ containerInstanceArn: 'i-1;' })).toThrow(InvalidArnError);
  });
});
