import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { DescribeTasksCommand, ECSClient, ListTasksCommand } from '@aws-sdk/client-ecs';
import { EventBridgeClient, ListRulesCommand } from '@aws-sdk/client-eventbridge';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type AwsFake, startAwsFake } from './server.js';
import { buildAwsvpcTask } from './task-builders.js';

let fake: AwsFake;
const clients: { destroy(): void }[] = [];

function ecsClient(maxAttempts: number): ECSClient {
  const c = new ECSClient({ ...fake.clientConfig(), maxAttempts });
  clients.push(c);
  return c;
}

async function failure(
  p: Promise<unknown>,
): Promise<Error & { $metadata?: { httpStatusCode?: number; attempts?: number } }> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(Error);
  return err as Error & { $metadata?: { httpStatusCode?: number; attempts?: number } };
}

beforeAll(async () => {
  fake = await startAwsFake();
});
afterAll(async () => {
  for (const c of clients) c.destroy();
  await fake.close();
});
afterEach(() => {
  fake.clearFaults();
  fake.resetCalls();
  fake.ecs.clusters.clear();
  fake.ec2.instances.clear();
});

describe('fault injection and call counting', () => {
  it('ECS throttling (ThrottlingException, HTTP 400) is retried by the SDK until it succeeds', async () => {
    fake.ecs.addCluster('default');
    const fault = fake.inject({ service: 'ecs', operation: 'ListTasks', kind: 'throttle', times: 2 });
    const out = await ecsClient(3).send(new ListTasksCommand({}));
    expect(out.taskArns).toEqual([]);
    expect(out.$metadata.attempts).toBe(3);
    expect(fake.calls('ecs', 'ListTasks')).toBe(3);
    expect(fault.hits).toBe(2);
    expect(fault.remaining).toBe(0);
    expect(fake.requests('ecs', 'ListTasks').map((c) => c.fault)).toEqual([
      'throttle',
      'throttle',
      undefined,
    ]);
  });

  it('with maxAttempts 1 the SDK surfaces ThrottlingException', async () => {
    fake.ecs.addCluster('default');
    fake.inject({ service: 'ecs', kind: 'throttle' });
    const err = await failure(ecsClient(1).send(new ListTasksCommand({})));
    expect(err.name).toBe('ThrottlingException');
    expect(err.$metadata?.httpStatusCode).toBe(400);
    expect(fake.calls('ecs')).toBe(1);
  });

  it('a fault without times lasts until cleared, and only hits its operation', async () => {
    const t = fake.ecs.putTask(buildAwsvpcTask({ ip: '10.0.0.1' }));
    const fault = fake.inject({ service: 'ecs', operation: 'DescribeTasks', kind: 'server-error' });
    const ecs = ecsClient(2);
    const err = await failure(ecs.send(new DescribeTasksCommand({ tasks: [t.taskArn!] })));
    expect(err.name).toBe('ServerException');
    expect(err.$metadata?.httpStatusCode).toBe(500);
    expect(err.$metadata?.attempts).toBe(2);
    await expect(ecs.send(new ListTasksCommand({}))).resolves.toBeDefined();
    expect(fault.remaining).toBe(Number.POSITIVE_INFINITY);
    fault.clear();
    const ok = await ecs.send(new DescribeTasksCommand({ tasks: [t.taskArn!] }));
    expect(ok.tasks).toHaveLength(1);
    expect(fake.callCounts()).toEqual({ 'ecs:DescribeTasks': 3, 'ecs:ListTasks': 1 });
  });

  it.each([
    ['throttle', 'RequestLimitExceeded', 503],
    ['server-error', 'InternalError', 500],
  ] as const)('EC2 %s → %s (%i)', async (kind, code, status) => {
    fake.ec2.putInstance('i-0aaa', '10.0.0.1');
    fake.inject({ service: 'ec2', kind });
    const ec2 = new EC2Client({ ...fake.clientConfig(), maxAttempts: 1 });
    clients.push(ec2);
    const err = await failure(ec2.send(new DescribeInstancesCommand({ InstanceIds: ['i-0aaa'] })));
    expect(err.name).toBe(code);
    expect(err.$metadata?.httpStatusCode).toBe(status);
    fake.clearFaults();
    const ok = await ec2.send(new DescribeInstancesCommand({ InstanceIds: ['i-0aaa'] }));
    expect(ok.Reservations?.[0]?.Instances?.[0]?.PrivateIpAddress).toBe('10.0.0.1');
  });

  it('EC2 RequestLimitExceeded is retried by the SDK', async () => {
    fake.ec2.putInstance('i-0aaa', '10.0.0.1');
    fake.inject({ service: 'ec2', operation: 'DescribeInstances', kind: 'throttle', times: 1 });
    const ec2 = new EC2Client({ ...fake.clientConfig(), maxAttempts: 2 });
    clients.push(ec2);
    const ok = await ec2.send(new DescribeInstancesCommand({ InstanceIds: ['i-0aaa'] }));
    expect(ok.$metadata.attempts).toBe(2);
  });

  it.each([
    ['throttle', 'ThrottlingException'],
    ['server-error', 'InternalException'],
  ] as const)('EventBridge %s → %s', async (kind, code) => {
    fake.inject({ service: 'events', operation: 'ListRules', kind, times: 1 });
    const eb = new EventBridgeClient({ ...fake.clientConfig(), maxAttempts: 1 });
    clients.push(eb);
    const err = await failure(eb.send(new ListRulesCommand({})));
    expect(err.name).toBe(code);
    await expect(eb.send(new ListRulesCommand({}))).resolves.toMatchObject({ Rules: [] });
  });

  it('delay answers normally after the delay; a client timeout shorter than it fails the call', async () => {
    fake.ecs.addCluster('default');
    fake.inject({ service: 'ecs', kind: 'delay', delayMs: 20, times: 1 });
    const ok = await ecsClient(1).send(new ListTasksCommand({}));
    expect(ok.taskArns).toEqual([]);
    expect(fake.requests('ecs')[0]?.fault).toBe('delay');

    fake.inject({ service: 'ecs', kind: 'delay', delayMs: 10_000, times: 1 });
    // This SDK only warns on requestTimeout unless throwOnRequestTimeout is set.
    const impatient = new ECSClient({
      ...fake.clientConfig(),
      maxAttempts: 1,
      requestHandler: { requestTimeout: 100, throwOnRequestTimeout: true },
    });
    clients.push(impatient);
    const err = await failure(impatient.send(new ListTasksCommand({})));
    expect(err.name).toBe('TimeoutError');
  });

  it('resetCalls empties the counters', async () => {
    fake.ecs.addCluster('default');
    await ecsClient(1).send(new ListTasksCommand({}));
    expect(fake.calls('ecs', 'ListTasks')).toBe(1);
    fake.resetCalls();
    expect(fake.callCounts()).toEqual({});
  });

  it('rejects times < 1', () => {
    expect(() => fake.inject({ service: 'ecs', kind: 'throttle', times: 0 })).toThrow(/times/);
  });
});
