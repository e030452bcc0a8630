import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EC2Client } from '@aws-sdk/client-ec2';
import { ECSClient, type Task } from '@aws-sdk/client-ecs';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { CreateQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import { instanceResourceName, readRecording } from '@ecs-ingress/sources';
import { ClusterStore, deriveUpstreams } from '@ecs-ingress/store';
import {
  type AwsFake,
  buildAwsvpcTask,
  buildBridgeTask,
  buildTaskDefinition,
  containerInstanceArnFor,
  type FauxqsHarness,
  startAwsFake,
  startFauxqsServer,
} from '@ecs-ingress/testkit/aws';
import { runCli, sendBody, taskChangeBody } from '@ecs-ingress/testkit/e2e';
import { eventually } from '@ecs-ingress/testkit/net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { applyLine, emptyCounts } from '../cli/replay/apply-recording.js';
import { startRecording } from './recorder.js';

let aws: AwsFake;
let fq: FauxqsHarness;
let dir: string;
const cleanups: (() => unknown)[] = [];

beforeAll(async () => {
  [aws, fq] = await Promise.all([startAwsFake(), startFauxqsServer()]);
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
afterAll(async () => {
  await Promise.all([aws?.close(), fq?.close()]);
});

function clients() {
  const ecs = new ECSClient({ ...aws.clientConfig(), maxAttempts: 1 });
  const ec2 = new EC2Client({ ...aws.clientConfig(), maxAttempts: 1 });
  const events = new EventBridgeClient({ ...aws.clientConfig(), maxAttempts: 1 });
  const sqs = new SQSClient({ ...fq.sqsConfig(), maxAttempts: 1 });
  cleanups.push(() => {
    for (const c of [ecs, ec2, events, sqs]) c.destroy();
  });
  // EC2 and EventBridge as the daemon's clients hand them out: built at first use.
  return { ecs, ec2: async () => ec2, events: async () => events, sqs };
}

function upstreamsOf(store: ClusterStore, cluster: string) {
  return deriveUpstreams(store.snapshot(), { clusterArn: cluster }).upstreams.map((u) => ({
    name: u.name,
    servers: u.servers.map((s) => `${s.address}:${s.port}`),
  }));
}

describe('record', () => {
  it('records a sync, queue events and health answers that replay to the same upstreams', async () => {
    dir = await mkdtemp(join(tmpdir(), 'ecs-ingress-record-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const cluster = `rec-${randomUUID().slice(0, 8)}`;
    const clusterArn = aws.ecs.addCluster(cluster).clusterArn!;

    const web = aws.ecs.putTaskDefinition(
      buildTaskDefinition({
        family: 'web',
        networkMode: 'awsvpc',
        containers: [{ name: 'app', containerPort: 8080 }],
      }),
    );
    const api = aws.ecs.putTaskDefinition(
      buildTaskDefinition({
        family: 'api',
        networkMode: 'awsvpc',
        containers: [{ name: 'app', containerPort: 9000, healthCheck: true }],
      }),
    );
    const legacy = aws.ecs.putTaskDefinition(
      buildTaskDefinition({
        family: 'legacy',
        networkMode: 'bridge',
        containers: [{ name: 'app', containerPort: 80 }],
      }),
    );
    for (const name of ['web', 'api', 'legacy', 'idle']) aws.ecs.putService(name, { cluster });
    const ciArn = containerInstanceArnFor(cluster, randomUUID().replaceAll('-', ''));
    aws.ecs.putContainerInstance(ciArn, 'i-0123456789abcdef0', { cluster });
    aws.ec2.putInstance('i-0123456789abcdef0', '192.0.2.201');

    const web1 = aws.ecs.putTask(
      buildAwsvpcTask({
        cluster,
        service: 'web',
        ip: '192.0.2.11',
        taskDefinitionArn: web.taskDefinitionArn!,
      }),
    );
    const api1 = aws.ecs.putTask(
      buildAwsvpcTask({
        cluster,
        service: 'api',
        ip: '192.0.2.21',
        taskDefinitionArn: api.taskDefinitionArn!,
      }),
    );
    aws.ecs.putTask(
      buildBridgeTask({
        cluster,
        service: 'legacy',
        containerInstanceArn: ciArn,
        hostPort: 32768,
        taskDefinitionArn: legacy.taskDefinitionArn!,
      }),
    );

    const c = clients();
    const { QueueUrl: queueUrl } = await c.sqs.send(
      new CreateQueueCommand({ QueueName: `rec-${randomUUID()}` }),
    );
    const out = join(dir, 'recording.jsonl');
    const recording = startRecording({
      ...c,
      cluster,
      queue: {
        mode: 'shared',
        url: queueUrl!,
        instanceId: 'test',
        prefix: 'ecs-ingress-',
        heartbeatIntervalMs: 60_000,
        reapAfterMs: 0,
      },
      out,
      healthCheckIntervalMs: 50,
      waitTimeSeconds: 1,
    });
    cleanups.push(() => recording.stop());
    await recording.firstSync;
    expect(upstreamsOf(recording.store, clusterArn)).toEqual([
      { name: 'api', servers: [] },
      { name: 'idle', servers: [] },
      { name: 'legacy', servers: ['192.0.2.201:32768'] },
      { name: 'web', servers: ['192.0.2.11:8080'] },
    ]);

    // Events: a task starts, another stops, plus a body that is not JSON and another cluster's event.
    // web2 runs a revision registered after the sync: fetched on demand, and recorded for replay.
    const webV2 = aws.ecs.putTaskDefinition(
      buildTaskDefinition({
        family: 'web',
        revision: 2,
        networkMode: 'awsvpc',
        containers: [{ name: 'app', containerPort: 8081 }],
      }),
    );
    const web2 = aws.ecs.putTask(
      buildAwsvpcTask({
        cluster,
        service: 'web',
        ip: '192.0.2.12',
        taskDefinitionArn: webV2.taskDefinitionArn!,
      }),
    );
    const web2Body = taskChangeBody(web2);
    await sendBody(c.sqs, queueUrl!, web2Body);
    const web1Stopped: Task = aws.ecs.updateTask(web1.taskArn!, {
      desiredStatus: 'STOPPED',
      lastStatus: 'STOPPED',
    });
    await sendBody(c.sqs, queueUrl!, taskChangeBody(web1Stopped));
    await sendBody(c.sqs, queueUrl!, 'this is not JSON');
    const stranger = buildAwsvpcTask({ cluster: 'elsewhere', service: 'web', ip: '192.0.2.99' });
    await sendBody(c.sqs, queueUrl!, taskChangeBody(stranger));
    // Health arrives only through DescribeTasks (the health checker).
    aws.ecs.updateTask(api1.taskArn!, {
      healthStatus: 'HEALTHY',
      containers: api1.containers!.map((k) => ({ ...k, healthStatus: 'HEALTHY' })),
    });

    const expected = [
      { name: 'api', servers: ['192.0.2.21:9000'] },
      { name: 'idle', servers: [] },
      { name: 'legacy', servers: ['192.0.2.201:32768'] },
      { name: 'web', servers: ['192.0.2.12:8081'] },
    ];
    await eventually('the live store to see every change', () => {
      const now = upstreamsOf(recording.store, clusterArn);
      return JSON.stringify(now) === JSON.stringify(expected) ? now : undefined;
    });
    // Every message written is deleted (the non-JSON one too: malformed defaults to delete).
    await eventually('the queue to drain', () => {
      const q = fq.server.inspectQueue(queueUrl!.slice(queueUrl!.lastIndexOf('/') + 1));
      return q && q.messages.ready.length + q.messages.inflight.length === 0 ? true : undefined;
    });
    const result = await recording.stop();

    expect(result.reason).toBe('stopped');
    expect(result.events).toBe(4);
    expect(result.observations['Cluster Snapshot']).toBeGreaterThanOrEqual(1);
    expect(result.observations['Task Definition']).toBe(4);
    expect(result.observations['Container Instance']).toBe(1);
    expect(result.observations['Task Described']).toBeGreaterThanOrEqual(1);
    const text = await readFile(out, 'utf8');
    const lines = text.trimEnd().split('\n');
    expect(lines).toHaveLength(result.lines);
    expect(lines).toContain('this is not JSON');
    // The body exactly as sent.
    expect(lines).toContain(web2Body);

    // Replay the file into a fresh store: the same upstreams.
    const replayed = new ClusterStore();
    const counts = emptyCounts();
    for await (const line of readRecording(out, { cluster: clusterArn })) applyLine(replayed, line, counts);
    expect(counts.invalid).toBe(1);
    expect(counts.otherCluster).toBe(1);
    expect(upstreamsOf(replayed, clusterArn)).toEqual(expected);
  });

  it('stops after --max-events messages and after --duration', async () => {
    dir = await mkdtemp(join(tmpdir(), 'ecs-ingress-record-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const cluster = `rec-${randomUUID().slice(0, 8)}`;
    aws.ecs.addCluster(cluster);
    const c = clients();
    const { QueueUrl: queueUrl } = await c.sqs.send(
      new CreateQueueCommand({ QueueName: `rec-${randomUUID()}` }),
    );
    const queue = {
      mode: 'shared' as const,
      url: queueUrl!,
      instanceId: 'test',
      prefix: 'ecs-ingress-',
      heartbeatIntervalMs: 60_000,
      reapAfterMs: 0,
    };
    const byCount = startRecording({
      ...c,
      cluster,
      queue,
      out: join(dir, 'a.jsonl'),
      maxEvents: 2,
      waitTimeSeconds: 1,
    });
    cleanups.push(() => byCount.stop());
    await byCount.firstSync;
    const task = buildAwsvpcTask({ cluster, service: 'web', ip: '192.0.2.11' });
    await sendBody(c.sqs, queueUrl!, taskChangeBody(task));
    await sendBody(c.sqs, queueUrl!, taskChangeBody({ ...task, version: 2 }));
    const counted = await byCount.done;
    expect(counted.reason).toBe('max-events');
    expect(counted.events).toBeGreaterThanOrEqual(2);

    const byTime = startRecording({
      ...c,
      cluster,
      queue,
      out: join(dir, 'b.jsonl'),
      durationMs: 300,
      waitTimeSeconds: 1,
    });
    cleanups.push(() => byTime.stop());
    const timed = await byTime.done;
    expect(timed.reason).toBe('duration');
    expect(timed.observations['Cluster Snapshot']).toBe(1);
  });
});

describe('ecs-ingress record (CLI)', () => {
  it('records in per-instance mode for --duration, then removes its queue and rule', async () => {
    dir = await mkdtemp(join(tmpdir(), 'ecs-ingress-record-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const cluster = `rec-${randomUUID().slice(0, 8)}`;
    aws.ecs.addCluster(cluster);
    aws.ecs.putService('web', { cluster });
    const out = join(dir, 'cli.jsonl');
    const instanceId = `host-${randomUUID().slice(0, 8)}`;
    const { code, stdout, stderr } = await runCli(['record', '--out', out, '--duration', '2s'], {
      env: {
        AWS_REGION: 'us-east-1',
        AWS_ENDPOINT_URL_ECS: aws.url,
        AWS_ENDPOINT_URL_EC2: aws.url,
        AWS_ENDPOINT_URL_EVENTBRIDGE: aws.url,
        AWS_ENDPOINT_URL_SQS: fq.endpoint,
        AWS_CLUSTER_NAME: cluster,
        ECS_INGRESS_QUEUE_MODE: 'per-instance',
        ECS_INGRESS_INSTANCE_ID: instanceId,
      },
    });
    expect(code, stderr.slice(-2000)).toBe(0);
    expect(stdout).toMatch(/^recorded \d+ lines to .*: 0 queue messages, 1 snapshots, .*\(duration\)\n$/);
    const name = instanceResourceName('ecs-ingress-', cluster, `${instanceId}-record`);
    // It existed (the log says so) and is gone now.
    expect(stderr).toContain(`created queue ${name}`);
    expect(aws.events.rule(name)).toBeUndefined();
    expect(fq.server.inspectQueue(name)).toBeUndefined();
    const lines = (await readFile(out, 'utf8')).trimEnd().split('\n');
    expect(lines.some((l) => l.includes('"detail-type":"Cluster Snapshot"'))).toBe(true);
  }, 90_000);
});
