import { fixtureJson } from '@ecs-ingress/testkit';
import { describe, expect, it } from 'vitest';
import { EventParseError } from '../errors.js';
import { parseContainerInstance } from './container-instance.js';
import { parseEventBody } from './event-body.js';
import { formatObservationLine, type ObservationKind } from './observation.js';
import { parseDescribedTask } from './task.js';
import { parseTaskDefinition } from './task-definition.js';

const AT = Date.UTC(2024, 4, 1, 12, 0, 0, 250);

/** The DescribeTasks fixture as the AWS SDK v3 returns it: timestamps as Date objects. */
function sdkTask(): Record<string, unknown> {
  const task = fixtureJson('api/describe-tasks-task-healthy.json');
  for (const key of [
    'connectivityAt',
    'createdAt',
    'pullStartedAt',
    'pullStoppedAt',
    'startedAt',
    'updatedAt',
  ]) {
    task[key] = new Date((task[key] as number) * 1000);
  }
  return task;
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

describe('formatObservationLine', () => {
  it('writes one JSON line with the envelope fields and ISO dates', () => {
    const line = formatObservationLine('Task Described', sdkTask(), new Date(AT));
    expect(line).not.toContain('\n');
    const obj = JSON.parse(line) as Record<string, unknown>;
    expect(obj).toMatchObject({
      version: '0',
      source: 'ecs-ingress',
      'detail-type': 'Task Described',
      time: '2024-05-01T12:00:00.250Z',
    });
    expect((obj.detail as Record<string, unknown>).updatedAt).toBe('2021-08-11T16:22:05.212Z');
  });

  it('accepts epoch ms as the time', () => {
    expect(JSON.parse(formatObservationLine('Container Instance', {}, AT)).time).toBe(
      '2024-05-01T12:00:00.250Z',
    );
  });

  it('rejects an invalid time and an unknown kind', () => {
    expect(reasonOf(() => formatObservationLine('Task Described', {}, new Date('x')))).toBe(
      'bad-timestamp:time',
    );
    expect(reasonOf(() => formatObservationLine('Task Guessed' as ObservationKind, {}, AT))).toBe(
      'unknown-observation-type',
    );
  });
});

describe('observation round trip: parseEventBody(formatObservationLine(…))', () => {
  it('Task Described → the same snapshot as parsing the SDK object', () => {
    const parsed = parseEventBody(formatObservationLine('Task Described', sdkTask(), new Date(AT)));
    expect(parsed).toMatchObject({ source: 'ecs-ingress', detailType: 'Task Described', time: AT });
    expect(parsed.clusterArn).toBe('arn:aws:ecs:us-east-1:123456789012:cluster/MyCluster');
    expect(parsed.events).toEqual([{ kind: 'task', task: parseDescribedTask(sdkTask(), AT, 'described') }]);
  });

  it('Task Definition', () => {
    const td = fixtureJson('api/task-definition-awsvpc-healthcheck.json');
    td.registeredAt = new Date(1628698500120);
    const parsed = parseEventBody(formatObservationLine('Task Definition', td, AT));
    expect(parsed.events).toEqual([
      { kind: 'task-definition', taskDefinition: parseTaskDefinition(td), observedAt: AT },
    ]);
  });

  it('Container Instance', () => {
    const ci = fixtureJson('api/container-instance.json');
    const parsed = parseEventBody(formatObservationLine('Container Instance', ci, AT));
    expect(parsed.events).toEqual([
      { kind: 'container-instance', containerInstance: parseContainerInstance(ci), observedAt: AT },
    ]);
  });

  it('Cluster Snapshot: tasks observed at startedAt, services kept', () => {
    const startedAt = new Date(AT - 5_000);
    const second = {
      ...sdkTask(),
      taskArn: 'arn:aws:ecs:us-east-1:123456789012:task/MyCluster/0000000000000000000000000000beef',
      version: 9,
    };
    const detail = {
      clusterArn: 'arn:aws:ecs:us-east-1:123456789012:cluster/MyCluster',
      startedAt,
      tasks: [sdkTask(), second],
      services: ['httpd', 'idle'],
    };
    const parsed = parseEventBody(formatObservationLine('Cluster Snapshot', detail, AT));
    expect(parsed).toMatchObject({ detailType: 'Cluster Snapshot', time: AT, clusterArn: detail.clusterArn });
    expect(parsed.events).toEqual([
      {
        kind: 'snapshot',
        clusterArn: detail.clusterArn,
        startedAt: AT - 5_000,
        tasks: [parseDescribedTask(sdkTask(), AT - 5_000), parseDescribedTask(second, AT - 5_000)],
        services: ['httpd', 'idle'],
      },
    ]);
  });
});

describe('observation lines without time (other envelope fields optional)', () => {
  const line = (detailType: string, detail: unknown) =>
    JSON.stringify({ source: 'ecs-ingress', 'detail-type': detailType, detail });

  it('Cluster Snapshot falls back to startedAt (epoch seconds here)', () => {
    const parsed = parseEventBody(
      line('Cluster Snapshot', {
        clusterArn: 'arn:aws:ecs:us-east-1:111122223333:cluster/c',
        startedAt: 1714564800,
        tasks: [],
      }),
    );
    expect(parsed.time).toBe(1714564800000);
    expect(parsed.events[0]).toEqual({
      kind: 'snapshot',
      clusterArn: 'arn:aws:ecs:us-east-1:111122223333:cluster/c',
      startedAt: 1714564800000,
      tasks: [],
    });
  });

  it('Task Described falls back to the task updatedAt', () => {
    const task = fixtureJson('api/describe-tasks-task-healthy.json');
    const parsed = parseEventBody(line('Task Described', task));
    expect(parsed.time).toBe(1628698925212);
    expect(parsed.events[0]).toMatchObject({
      kind: 'task',
      task: { observedAt: 1628698925212, healthStatus: 'HEALTHY' },
    });
  });

  it('Task Definition falls back to registeredAt', () => {
    const parsed = parseEventBody(
      line('Task Definition', fixtureJson('api/task-definition-awsvpc-healthcheck.json')),
    );
    expect(parsed.events[0]).toMatchObject({ kind: 'task-definition', observedAt: 1628698500120 });
  });

  it.each([
    [
      'Task Described without updatedAt',
      line('Task Described', {
        ...fixtureJson('api/describe-tasks-task-healthy.json'),
        updatedAt: undefined,
        createdAt: undefined,
      }),
      'missing-field:time',
    ],
    [
      'snapshot without startedAt',
      line('Cluster Snapshot', { clusterArn: 'c', tasks: [] }),
      'missing-field:detail.startedAt',
    ],
    [
      'snapshot with bad startedAt',
      line('Cluster Snapshot', { clusterArn: 'c', startedAt: 'then', tasks: [] }),
      'bad-timestamp:detail.startedAt',
    ],
    [
      'snapshot without tasks',
      line('Cluster Snapshot', { clusterArn: 'c', startedAt: 1 }),
      'missing-field:detail.tasks',
    ],
    [
      'snapshot with a broken task',
      line('Cluster Snapshot', { clusterArn: 'c', startedAt: 1, tasks: [{ taskArn: 't' }] }),
      'missing-field:detail.tasks.0.clusterArn',
    ],
    [
      'container instance without ARN',
      line('Container Instance', { ec2InstanceId: 'i-1' }),
      'missing-field:detail.containerInstanceArn',
    ],
    [
      'task definition without family',
      line('Task Definition', { taskDefinitionArn: 'a', revision: 1, containerDefinitions: [] }),
      'missing-field:detail.family',
    ],
    [
      'service without createdAt',
      line('Service Described', { ...SERVICE, createdAt: undefined }),
      'missing-field:detail.createdAt',
    ],
    [
      'service with a bad createdAt',
      line('Service Described', { ...SERVICE, createdAt: 'yesterday' }),
      'bad-timestamp:detail.createdAt',
    ],
    [
      'service with a forged ARN',
      line('Service Described', { ...SERVICE, serviceArn: `${SERVICE.serviceArn};` }),
      'invalid-arn:detail.serviceArn',
    ],
    [
      'service with a name ECS refuses',
      line('Service Described', { ...SERVICE, serviceName: 'we b' }),
      'invalid-field:detail.serviceName',
    ],
  ])('%s → %s', (_label, text, reason) => {
    expect(reasonOf(() => parseEventBody(text))).toBe(reason);
  });
});

const SERVICE = {
  serviceArn: 'arn:aws:ecs:us-east-1:123456789012:service/MyCluster/httpd',
  serviceName: 'httpd',
  clusterArn: 'arn:aws:ecs:us-east-1:123456789012:cluster/MyCluster',
  status: 'ACTIVE',
  createdAt: '2024-02-01T10:00:00.000Z',
};

describe('Service Described (route seniority)', () => {
  it('a DescribeServices service, as the SDK hands it (Date), round-trips to its createdAt', () => {
    const at = Date.parse('2024-05-01T00:00:00.000Z');
    const sdk = { ...SERVICE, createdAt: new Date(SERVICE.createdAt), deployments: [{ id: 'x' }] };
    const parsed = parseEventBody(formatObservationLine('Service Described', sdk, at));
    expect(parsed).toMatchObject({
      detailType: 'Service Described',
      time: at,
      clusterArn: SERVICE.clusterArn,
    });
    expect(parsed.events).toEqual([
      {
        kind: 'service',
        service: {
          serviceArn: SERVICE.serviceArn,
          serviceName: 'httpd',
          clusterArn: SERVICE.clusterArn,
          createdAt: Date.parse(SERVICE.createdAt),
        },
        observedAt: at,
      },
    ]);
  });

  it('ECS epoch seconds on the wire read the same as the ISO text', () => {
    const seconds = Date.parse(SERVICE.createdAt) / 1000;
    const parsed = parseEventBody(
      formatObservationLine('Service Described', { ...SERVICE, createdAt: seconds }, 1),
    );
    expect(parsed.events[0]).toMatchObject({ service: { createdAt: Date.parse(SERVICE.createdAt) } });
  });
});
