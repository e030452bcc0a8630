import { fixtureJson } from '@ecs-ingress/testkit';
import { describe, expect, it } from 'vitest';
import { EventParseError } from '../errors.js';
import { parseDescribedTask, serviceNameFromGroup } from './task.js';

const OBSERVED = 1_700_000_000_000;

function detailOf(name: string): Record<string, unknown> {
  return fixtureJson(`events/${name}`).detail as Record<string, unknown>;
}

function reasonOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof EventParseError) return e.reason;
    throw e;
  }
  return undefined;
}

describe('parseDescribedTask on fixtures', () => {
  it('DescribeTasks task (epoch seconds, ElasticNetworkInterface, HEALTHY)', () => {
    const task = parseDescribedTask(fixtureJson('api/describe-tasks-task-healthy.json'), OBSERVED);
    expect(task).toEqual({
      taskArn: 'arn:aws:ecs:us-east-1:123456789012:task/MyCluster/4d590253bb114126b7afa7b58eea9221',
      clusterArn: 'arn:aws:ecs:us-east-1:123456789012:cluster/MyCluster',
      taskDefinitionArn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/httpd:4',
      group: 'service:httpd',
      serviceName: 'httpd',
      lastStatus: 'RUNNING',
      desiredStatus: 'RUNNING',
      version: 3,
      healthStatus: 'HEALTHY',
      launchType: 'FARGATE',
      eniPrivateIpv4Address: '192.0.2.184',
      containers: [
        {
          name: 'simple-app',
          lastStatus: 'RUNNING',
          healthStatus: 'HEALTHY',
          networkBindings: [],
          privateIpv4Address: '192.0.2.184',
        },
      ],
      updatedAt: 1628698925212,
      createdAt: 1628698880291,
      observedAt: OBSERVED,
      source: 'described',
    });
  });

  it('the same task through the AWS SDK (Date objects) gives the same snapshot', () => {
    const wire = fixtureJson('api/describe-tasks-task-healthy.json');
    const sdk = {
      ...wire,
      createdAt: new Date(1628698880291),
      updatedAt: new Date(1628698925212),
      startedAt: new Date(1628698896304),
    };
    expect(parseDescribedTask(sdk, OBSERVED)).toEqual(parseDescribedTask(wire, OBSERVED));
  });

  it.each([
    ['task-fargate-awsvpc.json', { eni: '192.0.2.139', service: 'sample-fargate', bindings: 0 }],
    ['task-ec2-bridge.json', { eni: undefined, service: 'web', bindings: 2 }],
    ['task-ec2-host.json', { eni: undefined, service: 'node-metrics', bindings: 1 }],
    // elb and sdi attachments come first and are skipped; the eni's address is trimmed.
    [
      'task-multi-container-attachments.json',
      { eni: '192.0.2.34', service: 'example-webservice', bindings: 0 },
    ],
    ['task-fargate-spot-interrupted.json', { eni: '192.0.2.77', service: 'api', bindings: 0 }],
  ])('event detail %s', (name, expected) => {
    const task = parseDescribedTask(detailOf(name), OBSERVED, 'event');
    expect(task.source).toBe('event');
    expect(task.eniPrivateIpv4Address).toBe(expected.eni);
    expect(task.serviceName).toBe(expected.service);
    expect(task.containers[0]?.networkBindings).toHaveLength(expected.bindings);
  });

  it('bridge: keeps the dynamic host port of each binding', () => {
    const task = parseDescribedTask(detailOf('task-ec2-bridge.json'), OBSERVED, 'event');
    expect(task.containerInstanceArn).toBe(
      'arn:aws:ecs:us-east-1:111122223333:container-instance/prod/025c7e2c5e054a6790a29fc1f0a9b3c4',
    );
    expect(task.containers[0]?.networkBindings[0]).toEqual({
      bindIP: '0.0.0.0',
      containerPort: 80,
      hostPort: 32768,
      protocol: 'tcp',
    });
    expect(task.updatedAt).toBe(Date.parse('2024-03-05T10:15:42.107Z'));
  });

  it('Spot interruption: desired STOPPED with stop code and reason', () => {
    const task = parseDescribedTask(detailOf('task-fargate-spot-interrupted.json'), OBSERVED, 'event');
    expect(task).toMatchObject({
      lastStatus: 'RUNNING',
      desiredStatus: 'STOPPED',
      stopCode: 'SpotInterruption',
      stoppedReason: 'Your Spot Task was interrupted.',
    });
  });

  it('multi-container: every container is kept, in order', () => {
    const task = parseDescribedTask(detailOf('task-multi-container-attachments.json'), OBSERVED, 'event');
    expect(task.containers.map((c) => c.name)).toEqual(['Example', 'log-router']);
  });

  it('an sdi attachment alone gives no ENI address', () => {
    const detail = detailOf('task-multi-container-attachments.json');
    detail.attachments = (detail.attachments as { type: string }[]).filter((a) => a.type !== 'eni');
    expect(parseDescribedTask(detail, OBSERVED).eniPrivateIpv4Address).toBeUndefined();
  });
});

describe('parseDescribedTask edge cases', () => {
  const minimal = () => ({
    taskArn: 'arn:aws:ecs:us-east-1:111122223333:task/c/0123456789abcdef0123456789abcdef',
    clusterArn: 'arn:aws:ecs:us-east-1:111122223333:cluster/c',
    taskDefinitionArn: 'arn:aws:ecs:us-east-1:111122223333:task-definition/f:1',
    lastStatus: 'PENDING',
    desiredStatus: 'RUNNING',
    version: 1,
  });

  it('accepts the minimal task, with no containers', () => {
    expect(parseDescribedTask(minimal(), OBSERVED)).toEqual({
      ...minimal(),
      containers: [],
      observedAt: OBSERVED,
      source: 'described',
    });
  });

  it('accepts unknown extra fields anywhere', () => {
    const task = {
      ...minimal(),
      brandNewField: { nested: [1, 2, 3] },
      containers: [{ name: 'a', futureThing: true, networkBindings: [{ hostPort: 1, extra: 'x' }] }],
      attachments: [
        { type: 'eni', newKey: 1, details: [{ name: 'privateIPv4Address', value: '10.1.1.1', more: 2 }] },
      ],
    };
    const parsed = parseDescribedTask(task, OBSERVED);
    expect(parsed.eniPrivateIpv4Address).toBe('10.1.1.1');
    expect(parsed.containers[0]?.networkBindings[0]).toEqual({ hostPort: 1 });
    expect(parsed).not.toHaveProperty('brandNewField');
  });

  it('treats null optional fields as absent', () => {
    const parsed = parseDescribedTask(
      { ...minimal(), group: null, healthStatus: null, attachments: null },
      OBSERVED,
    );
    expect(parsed).not.toHaveProperty('group');
    expect(parsed).not.toHaveProperty('healthStatus');
  });

  it('drops an unknown health value rather than trusting it', () => {
    expect(
      parseDescribedTask({ ...minimal(), healthStatus: 'MOSTLY_OK' }, OBSERVED).healthStatus,
    ).toBeUndefined();
  });

  it('falls back from updatedAt to createdAt', () => {
    expect(parseDescribedTask({ ...minimal(), createdAt: '2024-01-01T00:00:00Z' }, OBSERVED).updatedAt).toBe(
      Date.UTC(2024, 0, 1),
    );
  });

  it.each([
    ['not an object', 'task', 'not-an-object'],
    ['an array', [], 'not-an-object'],
    ['missing taskArn', { ...minimal(), taskArn: undefined }, 'missing-field:taskArn'],
    ['null clusterArn', { ...minimal(), clusterArn: null }, 'missing-field:clusterArn'],
    ['empty taskDefinitionArn', { ...minimal(), taskDefinitionArn: '' }, 'invalid-field:taskDefinitionArn'],
    ['missing version', { ...minimal(), version: undefined }, 'missing-field:version'],
    ['negative version', { ...minimal(), version: -1 }, 'invalid-field:version'],
    ['fractional version', { ...minimal(), version: 1.5 }, 'invalid-field:version'],
    ['string version', { ...minimal(), version: '3' }, 'invalid-field:version'],
    [
      'container without name',
      { ...minimal(), containers: [{ lastStatus: 'RUNNING' }] },
      'missing-field:containers.0.name',
    ],
    [
      'host port out of range',
      { ...minimal(), containers: [{ name: 'a', networkBindings: [{ hostPort: 70000 }] }] },
      'invalid-field:containers.0.networkBindings.0.hostPort',
    ],
    ['bad updatedAt', { ...minimal(), updatedAt: 'later' }, 'bad-timestamp:updatedAt'],
  ])('rejects %s', (_label, input, reason) => {
    expect(reasonOf(() => parseDescribedTask(input, OBSERVED))).toBe(reason);
  });
});

describe('serviceNameFromGroup', () => {
  it.each([
    ['service:web', 'web'],
    ['service:a:b', 'a:b'],
    ['service:', undefined],
    ['family:web', undefined],
    ['web', undefined],
  ])('%s → %s', (group, name) => {
    expect(serviceNameFromGroup(group)).toBe(name);
  });
});

describe('parseDescribedTask: hand-checked lists', () => {
  const base = () => ({
    taskArn: 'arn:aws:ecs:us-east-1:111122223333:task/c/fedcba9876543210fedcba9876543210',
    clusterArn: 'arn:aws:ecs:us-east-1:111122223333:cluster/c',
    taskDefinitionArn: 'arn:aws:ecs:us-east-1:111122223333:task-definition/td:1',
    lastStatus: 'RUNNING',
    desiredStatus: 'RUNNING',
    version: 2,
  });

  it('ignores malformed details it does not read', () => {
    const task = {
      ...base(),
      attachments: [
        {
          type: 'eni',
          details: [7, { name: 'subnetId', value: 42 }, { name: 'privateIPv4Address', value: '10.2.3.4' }],
        },
      ],
    };
    expect(parseDescribedTask(task, 1).eniPrivateIpv4Address).toBe('10.2.3.4');
  });

  it.each([
    [
      'non-string ENI address',
      { attachments: [{ type: 'eni', details: [{ name: 'privateIPv4Address', value: 10 }] }] },
      'invalid-field:attachments.0.details.0.value',
    ],
    [
      'details not an array',
      { attachments: [{ type: 'eni', details: {} }] },
      'invalid-field:attachments.0.details',
    ],
    [
      'non-string container address',
      { containers: [{ name: 'a', networkInterfaces: [{ privateIpv4Address: false }] }] },
      'invalid-field:containers.0.networkInterfaces.0.privateIpv4Address',
    ],
  ])('rejects %s', (_label, patch, reason) => {
    let caught: unknown;
    try {
      parseDescribedTask({ ...base(), ...patch }, 1);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(EventParseError);
    expect((caught as EventParseError).reason).toBe(reason);
  });
});
