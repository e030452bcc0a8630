import type { ECSClient, Task } from '@aws-sdk/client-ecs';
import {
  type AwsFake,
  buildAwsvpcTask,
  buildBridgeTask,
  buildHostTask,
  buildTaskDefinition,
  containerInstanceArnFor,
  taskDefinitionArnFor,
} from '@ecs-ingress/testkit/aws';
import { formatObservationLine, parseEventBody } from '@ecs-ingress/types';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  type FakeAws,
  fakeClients,
  RecordingSink,
  recordObservations,
  useAwsFake,
  warningLogger,
} from '../test/helpers.js';
import { AWS_CALL_ERROR_CODES, AwsCallError } from './aws/aws-call-error.js';
import { ClusterNotFoundError, EcsPoller, type EcsPollerOptions, serviceNameFromArn } from './ecs-poller.js';

let fake: AwsFake;
let ecs: ECSClient;
let ec2: FakeAws['ec2'];

useAwsFake((aws) => {
  ({ fake, ecs, ec2 } = aws);
});

function poller(sink: RecordingSink, extra: Partial<EcsPollerOptions> = {}): EcsPoller {
  return new EcsPoller({ ecs, ec2, cluster: 'prod', sink, ...extra });
}

/**
 * Adds `n` bridge tasks spread over `services` services and `instances` container instances;
 * returns their ARNs in the order ListTasks lists them.
 */
function seedBridgeCluster(n: number, services: number, instances: number): string[] {
  fake.ecs.addCluster('prod');
  const tdArns: string[] = [];
  for (let s = 0; s < services; s++) {
    const td = fake.ecs.putTaskDefinition(
      buildTaskDefinition({
        family: `svc-${s}`,
        networkMode: 'bridge',
        containers: [{ name: 'app', containerPort: 8080 }],
      }),
    );
    tdArns.push(td.taskDefinitionArn!);
    fake.ecs.putService(`svc-${s}`, { cluster: 'prod' });
  }
  const ciArns: string[] = [];
  for (let i = 0; i < instances; i++) {
    const id = `i-${(0x1000 + i).toString(16)}`;
    fake.ec2.putInstance(id, `10.1.0.${i + 10}`);
    const ci = fake.ecs.putContainerInstance(containerInstanceArnFor('prod', `ci-${i}`), id);
    ciArns.push(ci.containerInstanceArn!);
  }
  const taskArns: string[] = [];
  for (let t = 0; t < n; t++) {
    const task = fake.ecs.putTask(
      buildBridgeTask({
        cluster: 'prod',
        service: `svc-${t % services}`,
        taskDefinitionArn: tdArns[t % services]!,
        containerInstanceArn: ciArns[t % instances]!,
        hostPort: 32768 + t,
        containerPort: 8080,
      }),
    );
    taskArns.push(task.taskArn!);
  }
  return taskArns;
}

describe('EcsPoller on a mixed awsvpc / bridge / host cluster', () => {
  let awsvpc: Task;
  let awsvpcOnEc2: Task;
  let bridge: Task;
  let host: Task;
  const ci1 = containerInstanceArnFor('prod', 'ci-1');
  const ci2 = containerInstanceArnFor('prod', 'ci-2');
  const ci3 = containerInstanceArnFor('prod', 'ci-3');

  beforeEach(() => {
    fake.ecs.addCluster('prod');
    const tdVpc = fake.ecs.putTaskDefinition(
      buildTaskDefinition({
        family: 'web',
        networkMode: 'awsvpc',
        containers: [{ name: 'app', containerPort: 80 }],
      }),
    );
    const tdBridge = fake.ecs.putTaskDefinition(
      buildTaskDefinition({
        family: 'api',
        networkMode: 'bridge',
        containers: [{ name: 'app', containerPort: 8080 }],
      }),
    );
    const tdHost = fake.ecs.putTaskDefinition(
      buildTaskDefinition({
        family: 'metrics',
        networkMode: 'host',
        containers: [{ name: 'app', containerPort: 9100 }],
      }),
    );
    fake.ec2.putInstance('i-0a1', '10.0.1.11');
    fake.ec2.putInstance('i-0a2', '10.0.1.12');
    fake.ecs.putContainerInstance(ci1, 'i-0a1');
    fake.ecs.putContainerInstance(ci2, 'i-0a2');
    // ci-3's EC2 instance does not exist: it must never be asked for (only an awsvpc task runs there).
    fake.ecs.putContainerInstance(ci3, 'i-0a3');
    for (const name of ['web', 'api', 'metrics', 'idle']) fake.ecs.putService(name, { cluster: 'prod' });

    awsvpc = fake.ecs.putTask(
      buildAwsvpcTask({
        cluster: 'prod',
        service: 'web',
        ip: '10.0.2.5',
        taskDefinitionArn: tdVpc.taskDefinitionArn!,
      }),
    );
    awsvpcOnEc2 = fake.ecs.putTask({
      ...buildAwsvpcTask({
        cluster: 'prod',
        service: 'web',
        ip: '10.0.2.6',
        launchType: 'EC2',
        taskDefinitionArn: tdVpc.taskDefinitionArn!,
      }),
      containerInstanceArn: ci3,
    });
    bridge = fake.ecs.putTask(
      buildBridgeTask({
        cluster: 'prod',
        service: 'api',
        containerInstanceArn: ci1,
        hostPort: 32770,
        containerPort: 8080,
        taskDefinitionArn: tdBridge.taskDefinitionArn!,
      }),
    );
    host = fake.ecs.putTask(
      buildHostTask({
        cluster: 'prod',
        service: 'metrics',
        containerInstanceArn: ci2,
        port: 9100,
        taskDefinitionArn: tdHost.taskDefinitionArn!,
      }),
    );
    // A task being stopped is not listed (ListTasks desiredStatus RUNNING).
    fake.ecs.putTask(
      buildAwsvpcTask({
        cluster: 'prod',
        service: 'web',
        ip: '10.0.2.7',
        desiredStatus: 'STOPPED',
        taskDefinitionArn: tdVpc.taskDefinitionArn!,
      }),
    );
  });

  it('emits task definitions, then container instances, then one snapshot with every listed task and service', async () => {
    const sink = new RecordingSink();
    const before = Date.now();
    const report = await poller(sink).fullSync();

    expect(sink.kinds()).toEqual([
      'task-definition',
      'task-definition',
      'task-definition',
      'container-instance',
      'container-instance',
      'snapshot',
    ]);
    expect(new Set(sink.ofKind('task-definition').map((e) => e.taskDefinition.networkMode))).toEqual(
      new Set(['awsvpc', 'bridge', 'host']),
    );
    const instances = sink.ofKind('container-instance').map((e) => e.containerInstance);
    expect(instances).toEqual(
      expect.arrayContaining([
        { containerInstanceArn: ci1, ec2InstanceId: 'i-0a1', privateIpAddress: '10.0.1.11' },
        { containerInstanceArn: ci2, ec2InstanceId: 'i-0a2', privateIpAddress: '10.0.1.12' },
      ]),
    );

    const [snapshot] = sink.ofKind('snapshot');
    expect(snapshot?.clusterArn).toBe('arn:aws:ecs:us-east-1:123456789012:cluster/prod');
    expect(snapshot?.startedAt).toBeGreaterThanOrEqual(before);
    expect(snapshot?.services).toEqual(['api', 'idle', 'metrics', 'web']);
    const byArn = new Map(snapshot?.tasks.map((t) => [t.taskArn, t]));
    expect([...byArn.keys()].sort()).toEqual(
      [awsvpc.taskArn!, awsvpcOnEc2.taskArn!, bridge.taskArn!, host.taskArn!].sort(),
    );
    expect(byArn.get(awsvpc.taskArn!)).toMatchObject({
      eniPrivateIpv4Address: '10.0.2.5',
      serviceName: 'web',
      source: 'described',
      observedAt: snapshot?.startedAt,
    });
    expect(byArn.get(bridge.taskArn!)).toMatchObject({ containerInstanceArn: ci1, serviceName: 'api' });
    expect(byArn.get(bridge.taskArn!)?.containers[0]?.networkBindings[0]?.hostPort).toBe(32770);
    expect(byArn.get(host.taskArn!)?.containers[0]?.networkBindings[0]?.hostPort).toBe(9100);

    // The awsvpc task on ci-3 needs no instance IP: ci-3 was never described.
    const asked = fake
      .requests('ecs', 'DescribeContainerInstances')
      .flatMap((r) => r.input.containerInstances);
    expect(asked.sort()).toEqual([ci1, ci2].sort());
    expect(report).toMatchObject({
      tasks: 4,
      services: 4,
      skippedTasks: 0,
      taskDefinitionsFetched: 3,
      containerInstancesResolved: 2,
      calls: {
        'ecs:DescribeClusters': 1,
        'ecs:ListTasks': 1,
        'ecs:ListServices': 1,
        'ecs:DescribeTasks': 1,
        'ecs:DescribeTaskDefinition': 3,
        'ecs:DescribeContainerInstances': 1,
        'ec2:DescribeInstances': 1,
      },
      totalCalls: 9,
    });
    expect(fake.callCounts()).toEqual(
      Object.fromEntries(Object.entries(report.calls).map(([k, v]) => [k, v])),
    );
  });

  it('fetches task definitions and container instances once across two syncs', async () => {
    const sink = new RecordingSink();
    const p = poller(sink);
    await p.fullSync();
    sink.clear();
    fake.resetCalls();

    // A new bridge task on a known instance with a known definition: still nothing to look up.
    fake.ecs.putTask(
      buildBridgeTask({
        cluster: 'prod',
        service: 'api',
        containerInstanceArn: ci1,
        hostPort: 32771,
        taskDefinitionArn: bridge.taskDefinitionArn!,
      }),
    );
    const second = await p.fullSync();
    expect(fake.callCounts()).toEqual({ 'ecs:ListTasks': 1, 'ecs:ListServices': 1, 'ecs:DescribeTasks': 1 });
    expect(second.calls).toEqual({ 'ecs:DescribeTasks': 1, 'ecs:ListServices': 1, 'ecs:ListTasks': 1 });
    expect(sink.kinds()).toEqual(['snapshot']);
    expect(sink.ofKind('snapshot')[0]?.tasks).toHaveLength(5);
  });

  it('skips what the store already knows (callbacks)', async () => {
    const sink = new RecordingSink();
    await poller(sink, {
      isKnownTaskDefinition: (arn) => arn === bridge.taskDefinitionArn,
      isKnownContainerInstance: (arn) => arn === ci2,
    }).fullSync();
    expect(fake.calls('ecs', 'DescribeTaskDefinition')).toBe(2);
    const asked = fake
      .requests('ecs', 'DescribeContainerInstances')
      .flatMap((r) => r.input.containerInstances);
    expect(asked).toEqual([ci1]);
  });

  it('hands every raw answer to the observation hook; the lines replay to the same events', async () => {
    const sink = new RecordingSink();
    const { hook, seen } = recordObservations();
    await poller(sink, { observe: hook }).fullSync();
    expect(seen.map((o) => o.kind)).toEqual([
      'Task Definition',
      'Task Definition',
      'Task Definition',
      'Container Instance',
      'Container Instance',
      'Cluster Snapshot',
    ]);
    const replayed = seen.flatMap(
      (o) => parseEventBody(formatObservationLine(o.kind, o.detail, o.time)).events,
    );
    expect(replayed).toEqual(sink.events);
  });

  it('logs and skips a task that does not parse, keeping the others', async () => {
    const broken = buildAwsvpcTask({
      cluster: 'prod',
      service: 'web',
      ip: '10.0.2.9',
      taskDefinitionArn: awsvpc.taskDefinitionArn!,
    });
    // No `version`: the store could not order it.
    fake.ecs.putTask({ ...broken, version: undefined });
    const { logger, warnings } = warningLogger();
    const sink = new RecordingSink();
    const { hook, seen } = recordObservations();
    const report = await poller(sink, { logger, observe: hook }).fullSync();
    expect(report.skippedTasks).toBe(1);
    expect(report.tasks).toBe(4);
    expect(warnings.some((w) => w.taskArn === broken.taskArn && w.reason === 'missing-field:version')).toBe(
      true,
    );
    const snapshotObservation = seen.find((o) => o.kind === 'Cluster Snapshot');
    expect(snapshotObservation).toBeDefined();
    // The recorded snapshot leaves the bad task out too, so replaying it does not fail.
    const recorded = (snapshotObservation?.detail as { tasks: Task[] } | undefined)?.tasks ?? [];
    expect(recorded.map((t) => t.taskArn)).toHaveLength(4);
    expect(recorded.map((t) => t.taskArn)).not.toContain(broken.taskArn);
  });
});

describe('EcsPoller and a task definition that does not parse', () => {
  it('describes it once, not on every poll (negative cache), and still lists the cluster', async () => {
    fake.ecs.addCluster('prod');
    const arn = taskDefinitionArnFor('odd', 1);
    // ECS answers a body of another revision than the ARN: not what it claims to be.
    fake.ecs.putTaskDefinition({
      ...buildTaskDefinition({ family: 'odd', revision: 2, networkMode: 'awsvpc' }),
      taskDefinitionArn: arn,
    });
    fake.ecs.putTask(
      buildAwsvpcTask({ cluster: 'prod', service: 'odd', ip: '127.0.0.9', taskDefinitionArn: arn }),
    );
    const sink = new RecordingSink();
    const p = poller(sink);
    for (let poll = 0; poll < 4; poll++) expect((await p.fullSync()).tasks).toBe(1);
    expect(fake.calls('ecs', 'DescribeTaskDefinition')).toBe(1);
    expect(sink.ofKind('task-definition')).toEqual([]);
    expect(sink.ofKind('snapshot')).toHaveLength(4);
  });
});

describe('EcsPoller paging and call budget', () => {
  it('pages 250 tasks as 3 ListTasks and 3 DescribeTasks, 150 services as 2 ListServices', async () => {
    seedBridgeCluster(250, 150, 4);
    const sink = new RecordingSink();
    const report = await poller(sink).fullSync();
    expect(report.calls['ecs:ListTasks']).toBe(3);
    expect(report.calls['ecs:DescribeTasks']).toBe(3);
    expect(report.calls['ecs:ListServices']).toBe(2);
    expect(fake.requests('ecs', 'ListTasks').map((r) => r.input.maxResults)).toEqual([100, 100, 100]);
    expect(
      fake
        .requests('ecs', 'DescribeTasks')
        .map((r) => (r.input.tasks as string[]).length)
        .sort(),
    ).toEqual([100, 100, 50]);
    const snapshot = sink.ofKind('snapshot')[0];
    expect(new Set(snapshot?.tasks.map((t) => t.taskArn)).size).toBe(250);
    expect(snapshot?.services).toHaveLength(150);
  });

  it('parses 3 DescribeTasks pages in listing order, with or without a recorder, and records the raw tasks in that order', async () => {
    const listed = seedBridgeCluster(250, 150, 4);
    const plain = new RecordingSink();
    await poller(plain).fullSync();
    const recorded = new RecordingSink();
    const { hook, seen } = recordObservations();
    await poller(recorded, { observe: hook }).fullSync();
    const tasksOf = (sink: RecordingSink) => sink.ofKind('snapshot')[0]?.tasks.map((t) => t.taskArn);
    expect(tasksOf(plain)).toEqual(listed);
    expect(tasksOf(recorded)).toEqual(listed);
    const raw = seen.find((o) => o.kind === 'Cluster Snapshot')?.detail as { tasks: Task[] } | undefined;
    expect(raw?.tasks.map((t) => t.taskArn)).toEqual(listed);
  });

  it('1,000 bridge tasks / 100 services / 20 instances: 124 calls cold, then 21 (≤ 30) per sync', async () => {
    seedBridgeCluster(1000, 100, 20);
    const sink = new RecordingSink();
    const p = poller(sink);
    const first = await p.fullSync();
    // Cold caches: DescribeTaskDefinition takes one ARN, so 100 services with their own
    // definitions cost 100 calls once per process (the ancestor pays 1 + S + 2T + I = 2,121
    // every 10 s). Every later sync is ListTasks + ListServices + DescribeTasks only.
    expect(first.calls).toMatchObject({
      'ecs:DescribeClusters': 1,
      'ecs:ListTasks': 10,
      'ecs:ListServices': 1,
      'ecs:DescribeTasks': 10,
      'ecs:DescribeTaskDefinition': 100,
      'ecs:DescribeContainerInstances': 1,
      'ec2:DescribeInstances': 1,
    });
    expect(first.tasks).toBe(1000);
    expect(first.totalCalls).toBe(124);
    fake.resetCalls();
    const second = await p.fullSync();
    expect(second.totalCalls).toBeLessThanOrEqual(30);
    expect(second.totalCalls).toBe(21);
    expect(fake.callCounts()).toEqual({
      'ecs:ListTasks': 10,
      'ecs:ListServices': 1,
      'ecs:DescribeTasks': 10,
    });
  });
});

describe('EcsPoller under AWS faults', () => {
  beforeEach(() => {
    seedBridgeCluster(3, 2, 1);
  });

  it.each([
    { kind: 'throttle' as const, operation: 'DescribeTasks' },
    { kind: 'server-error' as const, operation: 'ListTasks' },
  ])(
    'completes through the SDK retries when $operation fails twice with $kind',
    async ({ kind, operation }) => {
      fake.inject({ service: 'ecs', operation, kind, times: 2 });
      const report = await poller(new RecordingSink()).fullSync();
      expect(report.tasks).toBe(3);
      expect(fake.calls('ecs', operation)).toBe(3);
    },
  );

  it.each([
    { kind: 'throttle' as const, service: 'ecs' as const, code: AWS_CALL_ERROR_CODES.throttled },
    { kind: 'server-error' as const, service: 'ecs' as const, code: AWS_CALL_ERROR_CODES.unavailable },
    { kind: 'throttle' as const, service: 'ec2' as const, code: AWS_CALL_ERROR_CODES.throttled },
  ])('fails with $code when $service keeps answering $kind', async ({ kind, service, code }) => {
    const clients = fakeClients(fake, 1);
    try {
      fake.inject({ service, kind });
      const sink = new RecordingSink();
      const err = await new EcsPoller({ ...clients, cluster: 'prod', sink }).fullSync().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(AwsCallError);
      expect((err as AwsCallError).code).toBe(code);
      expect(sink.ofKind('snapshot')).toHaveLength(0);
    } finally {
      clients.destroy();
    }
  });

  it('rejects an unknown cluster with ClusterNotFoundError', async () => {
    const err = await new EcsPoller({ ecs, ec2, cluster: 'nope', sink: new RecordingSink() }).fullSync().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ClusterNotFoundError);
    expect((err as ClusterNotFoundError).code).toBe('ECS_INGRESS_CLUSTER_NOT_FOUND');
  });

  it('shares one sync between concurrent callers', async () => {
    const p = poller(new RecordingSink());
    const [a, b] = await Promise.all([p.fullSync(), p.fullSync()]);
    expect(a).toBe(b);
    expect(fake.calls('ecs', 'ListTasks')).toBe(1);
  });
});

describe('serviceNameFromArn', () => {
  it.each([
    ['arn:aws:ecs:us-east-1:123456789012:service/prod/web', 'web'],
    ['arn:aws:ecs:us-east-1:123456789012:service/web-old-format', 'web-old-format'],
  ])('%s → %s', (arn, name) => {
    expect(serviceNameFromArn(arn)).toBe(name);
  });
});
