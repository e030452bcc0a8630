import type { ECSClient } from '@aws-sdk/client-ecs';
import {
  type AwsFake,
  buildBridgeTask,
  buildTaskDefinition,
  containerInstanceArnFor,
} from '@ecs-ingress/testkit/aws';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  type FakeAws,
  fakeClients,
  RecordedMetrics,
  RecordingSink,
  recordObservations,
  useAwsFake,
} from '../test/helpers.js';
import { AWS_CALL_ERROR_CODES, AwsCallError } from './aws/aws-call-error.js';
import { EcsReferenceResolver } from './ecs-references.js';
import { HealthChecker, type HealthCheckerOptions } from './health-checker.js';

let fake: AwsFake;
let ecs: ECSClient;
let ec2: FakeAws['ec2'];
const checkers: HealthChecker[] = [];

useAwsFake(
  (aws) => {
    ({ fake, ecs, ec2 } = aws);
  },
  { cluster: 'prod' },
);
afterEach(async () => {
  await Promise.all(checkers.splice(0).map((c) => c.stop()));
});

const ci = containerInstanceArnFor('prod', 'ci-1');
let tdArn: string;
let taskArns: string[];

beforeEach(() => {
  const td = fake.ecs.putTaskDefinition(
    buildTaskDefinition({
      family: 'api',
      networkMode: 'bridge',
      containers: [{ name: 'app', containerPort: 8080, healthCheck: true }],
    }),
  );
  tdArn = td.taskDefinitionArn!;
  fake.ec2.putInstance('i-0b1', '10.0.3.1');
  fake.ecs.putContainerInstance(ci, 'i-0b1');
  taskArns = [0, 1, 2].map(
    (i) =>
      fake.ecs.putTask(
        buildBridgeTask({
          cluster: 'prod',
          service: 'api',
          containerInstanceArn: ci,
          hostPort: 33000 + i,
          taskDefinitionArn: tdArn,
          healthStatus: 'UNKNOWN',
        }),
      ).taskArn!,
  );
});

function checker(sink: RecordingSink, options: Partial<HealthCheckerOptions>): HealthChecker {
  const c = new HealthChecker({
    ecs,
    cluster: 'prod',
    sink,
    awaitingHealth: () => [],
    intervalMs: 10,
    ...options,
  });
  checkers.push(c);
  return c;
}

describe('HealthChecker.checkOnce', () => {
  it('describes only the tasks awaiting health and dispatches described observations', async () => {
    const sink = new RecordingSink();
    const { hook, seen } = recordObservations();
    const report = await checker(sink, { awaitingHealth: () => [taskArns[1]!], observe: hook }).checkOnce();
    expect(fake.requests('ecs', 'DescribeTasks').map((r) => r.input.tasks)).toEqual([[taskArns[1]]]);
    expect(report).toMatchObject({
      described: 1,
      dispatched: 1,
      missing: 0,
      calls: { 'ecs:DescribeTasks': 1 },
    });
    const [event] = sink.ofKind('task');
    expect(event?.task).toMatchObject({ taskArn: taskArns[1], source: 'described', healthStatus: 'UNKNOWN' });
    expect(seen.map((o) => o.kind)).toEqual(['Task Described']);
  });

  it('makes no call when nothing awaits health', async () => {
    const report = await checker(new RecordingSink(), { awaitingHealth: () => [] }).checkOnce();
    expect(report.calls).toEqual({});
    expect(fake.callCounts()).toEqual({});
  });

  it('batches 250 awaiting tasks into 100 + 100 + 50', async () => {
    const many = Array.from({ length: 250 }, (_, i) =>
      fake.ecs.putTask(
        buildBridgeTask({
          cluster: 'prod',
          containerInstanceArn: ci,
          hostPort: 40000 + i,
          taskDefinitionArn: tdArn,
        }),
      ),
    ).map((t) => t.taskArn!);
    const sink = new RecordingSink();
    await checker(sink, { awaitingHealth: () => many }).checkOnce();
    expect(fake.requests('ecs', 'DescribeTasks').map((r) => (r.input.tasks as string[]).length)).toEqual([
      100, 100, 50,
    ]);
    expect(sink.ofKind('task')).toHaveLength(250);
  });

  it('stops asking for a task ECS reports MISSING while the store still lists it', async () => {
    const gone = 'arn:aws:ecs:us-east-1:123456789012:task/prod/0000000000000000000000000000dead';
    let awaiting = [gone, taskArns[0]!];
    const c = checker(new RecordingSink(), { awaitingHealth: () => awaiting });
    expect((await c.checkOnce()).missing).toBe(1);
    await c.checkOnce();
    expect(fake.requests('ecs', 'DescribeTasks').map((r) => r.input.tasks)).toEqual([
      [gone, taskArns[0]],
      [taskArns[0]],
    ]);
    // Once the store drops it, the mark is forgotten: listed again, it is asked for again.
    awaiting = [];
    await c.checkOnce();
    awaiting = [gone];
    await c.checkOnce();
    expect(fake.calls('ecs', 'DescribeTasks')).toBe(3);
  });

  it('fetches the task definition and container instance the store lacks, before the task', async () => {
    const sink = new RecordingSink();
    const references = new EcsReferenceResolver({ ecs, ec2, cluster: 'prod', sink });
    await checker(sink, { awaitingHealth: () => [taskArns[0]!], references }).checkOnce();
    expect(sink.kinds()).toEqual(['task-definition', 'container-instance', 'task']);
    expect(sink.ofKind('container-instance')[0]?.containerInstance.privateIpAddress).toBe('10.0.3.1');
    // Cached: a second check only describes the task.
    fake.resetCalls();
    await checker(sink, { awaitingHealth: () => [taskArns[0]!], references }).checkOnce();
    expect(fake.callCounts()).toEqual({ 'ecs:DescribeTasks': 1 });
  });

  it('throws a coded error when DescribeTasks keeps being throttled', async () => {
    const clients = fakeClients(fake, 1);
    try {
      fake.inject({ service: 'ecs', kind: 'throttle' });
      const c = new HealthChecker({
        ecs: clients.ecs,
        cluster: 'prod',
        sink: new RecordingSink(),
        awaitingHealth: () => [taskArns[0]!],
      });
      const err = await c.checkOnce().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(AwsCallError);
      expect((err as AwsCallError).code).toBe(AWS_CALL_ERROR_CODES.throttled);
    } finally {
      clients.destroy();
    }
  });
});

describe('HealthChecker loop', () => {
  it('describes until the task is HEALTHY, then stops calling', async () => {
    const sink = new RecordingSink();
    const metrics = new RecordedMetrics();
    const awaiting = new Set([taskArns[0]!]);
    let ticks = 0;
    const c = checker(sink, {
      metrics,
      awaitingHealth: () => {
        ticks++;
        return [...awaiting];
      },
    });
    c.start();
    await vi.waitFor(() => expect(sink.ofKind('task').length).toBeGreaterThanOrEqual(1), { timeout: 5_000 });
    fake.ecs.updateTask(taskArns[0]!, { healthStatus: 'HEALTHY' });
    await vi.waitFor(
      () => expect(sink.ofKind('task').some((e) => e.task.healthStatus === 'HEALTHY')).toBe(true),
      { timeout: 5_000 },
    );
    // The "store" admits it: nothing awaits any more.
    awaiting.clear();
    const callsThen = fake.calls('ecs', 'DescribeTasks');
    const ticksThen = ticks;
    await vi.waitFor(() => expect(ticks).toBeGreaterThanOrEqual(ticksThen + 5), { timeout: 5_000 });
    // At most one describe was already in flight when the set emptied.
    expect(fake.calls('ecs', 'DescribeTasks')).toBeLessThanOrEqual(callsThen + 1);
    expect(metrics.awaitingHealth).toBe(0);
  });

  it('survives failures with backoff and recovers when AWS answers again', async () => {
    const clients = fakeClients(fake, 1);
    try {
      fake.inject({ service: 'ecs', operation: 'DescribeTasks', kind: 'server-error' });
      const sink = new RecordingSink();
      const c = new HealthChecker({
        ecs: clients.ecs,
        cluster: 'prod',
        sink,
        awaitingHealth: () => [taskArns[2]!],
        intervalMs: 5,
        maxBackoffMs: 40,
      });
      checkers.push(c);
      c.start();
      await vi.waitFor(() => expect(fake.calls('ecs', 'DescribeTasks')).toBeGreaterThanOrEqual(3), {
        timeout: 5_000,
      });
      expect(sink.events).toHaveLength(0);
      fake.clearFaults();
      await vi.waitFor(() => expect(sink.ofKind('task').length).toBeGreaterThanOrEqual(1), {
        timeout: 5_000,
      });
    } finally {
      await Promise.all(checkers.splice(0).map((c) => c.stop()));
      clients.destroy();
    }
  });
});
