import {
  DeleteRuleCommand,
  DescribeRuleCommand,
  EventBridgeClient,
  EventBridgeServiceException,
  ListRulesCommand,
  ListTagsForResourceCommand,
  ListTargetsByRuleCommand,
  PutRuleCommand,
  PutTargetsCommand,
  RemoveTargetsCommand,
  TagResourceCommand,
  UntagResourceCommand,
} from '@aws-sdk/client-eventbridge';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type AwsFake, startAwsFake } from './server.js';

let fake: AwsFake;
let eb: EventBridgeClient;

const PATTERN = JSON.stringify({
  source: ['aws.ecs'],
  'detail-type': ['ECS Task State Change'],
  detail: { clusterArn: ['arn:aws:ecs:us-east-1:123456789012:cluster/default'] },
});
const QUEUE_ARN = 'arn:aws:sqs:us-east-1:123456789012:ecs-ingress-i-0aaa';

beforeAll(async () => {
  fake = await startAwsFake();
  // maxAttempts 1: the SDK classes LimitExceededException as throttling and would retry it.
  eb = new EventBridgeClient({ ...fake.clientConfig(), maxAttempts: 1 });
});
afterAll(async () => {
  eb.destroy();
  await fake.close();
});
beforeEach(() => {
  fake.events.rules.clear();
  fake.events.tags.clear();
  fake.resetCalls();
});

async function ebError(p: Promise<unknown>): Promise<EventBridgeServiceException> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(EventBridgeServiceException);
  return err as EventBridgeServiceException;
}

describe('EventBridge fake through the real EventBridgeClient', () => {
  it('PutRule creates (with tags), DescribeRule reads, PutRule again updates but keeps tags', async () => {
    const put = await eb.send(
      new PutRuleCommand({
        Name: 'ecs-ingress-a',
        EventPattern: PATTERN,
        Description: 'first',
        Tags: [{ Key: 'ecs-ingress:cluster', Value: 'default' }],
      }),
    );
    expect(put.RuleArn).toBe('arn:aws:events:us-east-1:123456789012:rule/ecs-ingress-a');
    await eb.send(
      new PutRuleCommand({
        Name: 'ecs-ingress-a',
        EventPattern: PATTERN,
        State: 'DISABLED',
        Tags: [{ Key: 'x', Value: 'y' }],
      }),
    );
    const d = await eb.send(new DescribeRuleCommand({ Name: 'ecs-ingress-a' }));
    expect(d).toMatchObject({
      Name: 'ecs-ingress-a',
      Arn: put.RuleArn,
      EventPattern: PATTERN,
      State: 'DISABLED',
      Description: 'first',
      EventBusName: 'default',
    });
    expect(fake.events.tagsOf(put.RuleArn!)).toEqual({ 'ecs-ingress:cluster': 'default' });
  });

  it.each([
    ['no pattern nor schedule', { Name: 'r' }, 'ValidationException'],
    ['a pattern that is not JSON', { Name: 'r', EventPattern: '{nope' }, 'InvalidEventPatternException'],
    [
      'another bus',
      { Name: 'r', EventPattern: PATTERN, EventBusName: 'custom' },
      'ResourceNotFoundException',
    ],
  ])('PutRule with %s fails with %s', async (_case, input, code) => {
    const err = await ebError(eb.send(new PutRuleCommand(input)));
    expect(err.name).toBe(code);
    expect(fake.events.rules.size).toBe(0);
  });

  it('DescribeRule of an unknown rule is ResourceNotFoundException', async () => {
    const err = await ebError(eb.send(new DescribeRuleCommand({ Name: 'ghost' })));
    expect(err.name).toBe('ResourceNotFoundException');
  });

  it('ListRules filters by NamePrefix and paginates', async () => {
    for (let i = 0; i < 7; i++) {
      await eb.send(new PutRuleCommand({ Name: `ecs-ingress-${i}`, EventPattern: PATTERN }));
    }
    await eb.send(new PutRuleCommand({ Name: 'other', EventPattern: PATTERN }));
    const names: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const out = await eb.send(
        new ListRulesCommand({
          NamePrefix: 'ecs-ingress-',
          Limit: 3,
          ...(token ? { NextToken: token } : {}),
        }),
      );
      names.push(...(out.Rules ?? []).map((r) => r.Name!));
      token = out.NextToken;
      pages++;
    } while (token && pages < 10);
    expect(pages).toBe(3);
    expect(names).toEqual(Array.from({ length: 7 }, (_, i) => `ecs-ingress-${i}`));
  });

  it('targets: put, list, the 5-per-rule limit, remove; DeleteRule refuses while targets remain', async () => {
    await eb.send(new PutRuleCommand({ Name: 'r', EventPattern: PATTERN }));
    const put = await eb.send(new PutTargetsCommand({ Rule: 'r', Targets: [{ Id: 'q', Arn: QUEUE_ARN }] }));
    expect(put.FailedEntryCount).toBe(0);
    const listed = await eb.send(new ListTargetsByRuleCommand({ Rule: 'r' }));
    expect(listed.Targets).toEqual([{ Id: 'q', Arn: QUEUE_ARN }]);

    const tooMany = Array.from({ length: 5 }, (_, i) => ({ Id: `t${i}`, Arn: QUEUE_ARN }));
    const limit = await ebError(eb.send(new PutTargetsCommand({ Rule: 'r', Targets: tooMany })));
    expect(limit.name).toBe('LimitExceededException');
    expect(fake.events.rule('r')?.targets.size).toBe(1);

    const blocked = await ebError(eb.send(new DeleteRuleCommand({ Name: 'r' })));
    expect(blocked.name).toBe('ValidationException');
    expect(blocked.message).toBe("Rule can't be deleted since it has targets.");

    await eb.send(new RemoveTargetsCommand({ Rule: 'r', Ids: ['q'] }));
    await eb.send(new DeleteRuleCommand({ Name: 'r' }));
    expect(fake.events.rules.has('r')).toBe(false);
    // Deleting again is not an error, so teardown can be repeated.
    await eb.send(new DeleteRuleCommand({ Name: 'r' }));
  });

  it('PutTargets to an unknown rule is ResourceNotFoundException', async () => {
    const err = await ebError(
      eb.send(new PutTargetsCommand({ Rule: 'ghost', Targets: [{ Id: 'q', Arn: QUEUE_ARN }] })),
    );
    expect(err.name).toBe('ResourceNotFoundException');
  });

  it('TagResource / UntagResource / ListTagsForResource', async () => {
    const { RuleArn } = await eb.send(new PutRuleCommand({ Name: 'r', EventPattern: PATTERN }));
    await eb.send(
      new TagResourceCommand({
        ResourceARN: RuleArn!,
        Tags: [
          { Key: 'heartbeat', Value: '2024-01-01T00:00:00Z' },
          { Key: 'instance', Value: 'i-0aaa' },
        ],
      }),
    );
    await eb.send(
      new TagResourceCommand({
        ResourceARN: RuleArn!,
        Tags: [{ Key: 'heartbeat', Value: '2024-01-01T00:01:00Z' }],
      }),
    );
    await eb.send(new UntagResourceCommand({ ResourceARN: RuleArn!, TagKeys: ['instance'] }));
    const tags = await eb.send(new ListTagsForResourceCommand({ ResourceARN: RuleArn! }));
    expect(tags.Tags).toEqual([{ Key: 'heartbeat', Value: '2024-01-01T00:01:00Z' }]);
    const err = await ebError(eb.send(new ListTagsForResourceCommand({ ResourceARN: `${RuleArn}-ghost` })));
    expect(err.name).toBe('ResourceNotFoundException');
  });
});
