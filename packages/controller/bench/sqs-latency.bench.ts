/**
 * Message-to-serving latency of the whole daemon (prints figures; not a test).
 *
 *   node --conditions=source --import tsx packages/controller/bench/sqs-latency.bench.ts [--changes 100]
 *
 * The daemon (`startDaemon`, in process) runs against fauxqs (SQS, shared queue) and the wire-level
 * ECS/EC2 fake, with a real NGINX on loopback. One change = service `web` moves from one task to
 * another (the new task's RUNNING event and the old one's STOPPED event, sent in one
 * SendMessageBatch). The clock starts when SendMessageBatch completed (the messages are visible in
 * the queue) and stops at the first response through NGINX from the new task's backend (the only
 * backend of the new config). p50/p99 over N changes:
 *  (a) default timings: debounce 200 ms quiet / 2 s max, reloads spaced by 1 s; each change is sent
 *      once the spacing has passed, as a change in a quiet cluster would be;
 *  (b) the floor: debounce 0/0, no spacing.
 * The SQS long poll is the real one (20 s wait): a message becoming visible ends it at once.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Task } from '@aws-sdk/client-ecs';
import { CreateQueueCommand, SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { silentLogger } from '@ecs-ingress/types';
import { createLogger } from '../src/log/logger.js';

const LOG = process.env.BENCH_LOG ? createLogger({ level: 'debug', destination: 2 }) : silentLogger;

import {
  type AwsFake,
  buildBridgeTask,
  buildTaskDefinition,
  containerInstanceArnFor,
  type FauxqsHarness,
  startAwsFake,
  startFauxqsServer,
} from '@ecs-ingress/testkit/aws';
import { makeBundle, taskChangeBody } from '@ecs-ingress/testkit/e2e';
import { type Backend, httpGet, startBackend } from '@ecs-ingress/testkit/net';
import { loadConfig } from '../src/config/env.js';
import { createDaemonClients } from '../src/daemon/aws.js';
import { startDaemon } from '../src/daemon/daemon.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const value = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  return Number.isFinite(value) && value > 0 ? value : fallback;
}

const CHANGES = arg('changes', 100);
/** Per change: give up after this long (a lost change would otherwise hang the benchmark). */
const CHANGE_TIMEOUT_MS = 15_000;

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, index)] ?? Number.NaN;
}

interface Timing {
  readonly label: string;
  readonly env: Record<string, string>;
  /** Pause between changes (past the reload spacing). */
  readonly gapMs: number;
}

async function measure(aws: AwsFake, fq: FauxqsHarness, timing: Timing): Promise<number[]> {
  const cluster = `bench-${randomUUID().slice(0, 8)}`;
  aws.ecs.addCluster(cluster);
  aws.ecs.putService('web', { cluster });
  const backends: Backend[] = [await startBackend('b0'), await startBackend('b1')];
  const bundle = await makeBundle(['web']);
  const def = aws.ecs.putTaskDefinition(
    buildTaskDefinition({
      family: 'web',
      networkMode: 'bridge',
      containers: [{ name: 'app', containerPort: 80 }],
    }),
  );
  const ciArn = containerInstanceArnFor(cluster, randomUUID().replaceAll('-', ''));
  aws.ecs.putContainerInstance(ciArn, 'i-0bec4000000000001', { cluster });
  aws.ec2.putInstance('i-0bec4000000000001', '127.0.0.1');
  const taskOn = (b: Backend): Task =>
    aws.ecs.putTask(
      buildBridgeTask({
        cluster,
        service: 'web',
        containerInstanceArn: ciArn,
        hostPort: b.port,
        taskDefinitionArn: def.taskDefinitionArn!,
      }),
    );
  let current = taskOn(backends[0]!);

  const sqs = new SQSClient({ ...fq.sqsConfig(), maxAttempts: 1 });
  const { QueueUrl: queueUrl } = await sqs.send(
    new CreateQueueCommand({ QueueName: `bench-${randomUUID()}` }),
  );
  const config = loadConfig({
    AWS_REGION: 'us-east-1',
    AWS_CLUSTER_NAME: cluster,
    ECS_INGRESS_QUEUE_MODE: 'shared',
    ECS_INGRESS_QUEUE_URL: queueUrl!,
    NGINX_CONFIG_DIR: bundle.bundleDir,
    ECS_INGRESS_WORK_DIR: bundle.workDir,
    ECS_INGRESS_UPSTREAMS_FILE: bundle.upstreamsFile,
    ECS_INGRESS_HTTP_HOST: '127.0.0.1',
    ECS_INGRESS_HTTP_PORT: '0',
    ...timing.env,
  });
  const clients = createDaemonClients({
    region: 'us-east-1',
    endpoints: { ecs: aws.url, ec2: aws.url, eventbridge: aws.url, sqs: fq.endpoint, s3: fq.endpoint },
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    logger: silentLogger,
  });
  const daemon = await startDaemon(config, { logger: LOG, clients });
  const latencies: number[] = [];
  try {
    await daemon.ready;
    for (let i = 1; i <= CHANGES; i++) {
      const next = taskOn(backends[i % 2]!);
      const stopped = aws.ecs.updateTask(current.taskArn!, {
        desiredStatus: 'STOPPED',
        lastStatus: 'STOPPED',
      });
      aws.ecs.removeTask(current.taskArn!);
      await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: queueUrl!,
          Entries: [
            { Id: 'start', MessageBody: taskChangeBody(next) },
            { Id: 'stop', MessageBody: taskChangeBody(stopped) },
          ],
        }),
      );
      const visibleAt = performance.now();
      const want = backends[i % 2]!.name;
      let served = false;
      while (performance.now() - visibleAt < CHANGE_TIMEOUT_MS) {
        const r = await httpGet(`${bundle.url}/web`, 2000).catch(() => undefined);
        if (r?.status === 200 && r.body === want) {
          served = true;
          break;
        }
        await sleep(2);
      }
      if (!served) throw new Error(`change ${i} not served within ${CHANGE_TIMEOUT_MS} ms`);
      latencies.push(performance.now() - visibleAt);
      current = next;
      await sleep(timing.gapMs);
    }
  } finally {
    await daemon.stop();
    clients.destroy();
    sqs.destroy();
    for (const b of backends) await b.close();
    await bundle.cleanup();
  }
  return latencies.sort((x, y) => x - y);
}

const TIMINGS: readonly Timing[] = [
  { label: 'default (debounce 200 ms / 2 s, reloads ≥ 1 s apart)', env: {}, gapMs: 1100 },
  {
    label: 'floor (debounce 0 / 0, no reload spacing)',
    env: {
      ECS_INGRESS_DEBOUNCE_MIN: '0',
      ECS_INGRESS_DEBOUNCE_MAX: '0',
      ECS_INGRESS_MIN_RELOAD_INTERVAL: '0',
    },
    gapMs: 50,
  },
];

const [aws, fq] = await Promise.all([startAwsFake(), startFauxqsServer()]);
try {
  console.log(`SQS message visible → NGINX serving the change, ${CHANGES} changes each (ms)`);
  console.log('| timings | p50 | p99 | max |');
  console.log('|---|---|---|---|');
  for (const timing of TIMINGS) {
    const l = await measure(aws, fq, timing);
    const f = (n: number) => n.toFixed(0);
    console.log(
      `| ${timing.label} | ${f(percentile(l, 50))} | ${f(percentile(l, 99))} | ${f(l.at(-1) ?? Number.NaN)} |`,
    );
  }
} finally {
  await Promise.all([aws.close(), fq.close()]);
}
