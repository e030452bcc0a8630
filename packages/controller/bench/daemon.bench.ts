/**
 * The daemon as the image runs it, measured from outside (prints figures; not a test).
 *
 *   pnpm bench daemon.bench.ts [--tasks 10000,50000] [--changes 150] [--steady-seconds 20] [--gap-ms 1000]
 *
 * `ecs-ingress run` is the BUILT CLI (packages/controller/dist, `pnpm -s build`; scripts/bench.mjs
 * builds first), started with the node flags of deploy/Dockerfile's ENTRYPOINT and the image's
 * environment (NODE_ENV=production, ECS_INGRESS_UPSTREAM_MODE=dynamic, every timing at its
 * default). It talks to the wire-level ECS/EC2 fake and to fauxqs (one pre-made queue) served by
 * this process, and supervises a real NGINX on loopback (Debian's NDK + Lua modules, the
 * dynamic-mode bundle layout). Per cluster size (services of 10 awsvpc tasks each, addresses in
 * 127.0.0.0/8 that nothing serves, plus service `web` with one task on a real backend):
 *  - RSS of the daemon's process, read from /proc/<pid>/status every 100 ms: VmRSS over a steady
 *    window after the first sync made it ready (/readyz 200), and VmHWM (the kernel's peak) at the end;
 *  - SQS message → first request on the new backend: `web` moves from one backend to the other
 *    (the new task's RUNNING event and the old one's STOPPED event in one SendMessageBatch); the
 *    clock starts when SendMessageBatch completed (the messages are visible) and stops at the first
 *    response through NGINX from the new backend (fresh connection, polled every ~1 ms).
 * `JSON.parse` alone of the event texts sent is timed at the start and the end of each size, so a
 * slow machine shows as such.
 *
 * For a diagnosis: BENCH_DAEMON_NODE_FLAGS adds node flags to the daemon's (`--cpu-prof
 * --cpu-prof-dir=/tmp/p`), BENCH_WITHOUT_IMAGE_FLAGS=1 leaves the image's out (V8's defaults),
 * BENCH_DAEMON_LOG=<file> appends its output there, BENCH_DAEMON_LOG_LEVEL sets its log level.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { appendFileSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { Task } from '@aws-sdk/client-ecs';
import { CreateQueueCommand, SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import {
  type AwsFake,
  buildAwsvpcTask,
  buildTaskDefinition,
  type FauxqsHarness,
  startAwsFake,
  startFauxqsServer,
} from '@ecs-ingress/testkit/aws';
import { daemonBaseEnv, makeDynamicBundle, taskChangeBody } from '@ecs-ingress/testkit/e2e';
import { type Backend, freePort, get, httpGet, startBackend } from '@ecs-ingress/testkit/net';
import { HAS_LUA_MODULES } from '@ecs-ingress/testkit/nginx';
import { imageNodeFlags } from './image-node-flags.js';

const REPO_ROOT = resolve(fileURLToPath(new URL('../../../', import.meta.url)));
const DIST_MAIN = join(REPO_ROOT, 'packages/controller/dist/cli/main.js');

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}
const SIZES = arg('tasks', '10000,50000').split(',').map(Number);
const CHANGES = Number(arg('changes', '150'));
const STEADY_S = Number(arg('steady-seconds', '20'));
/**
 * Pause after a change was served: GAP to 1.5 × GAP ms (random, so that changes do not fall in step
 * with a timer of the daemon). Long enough that each change is an isolated one: after a render the
 * reconciler waits 4 × its duration before the next (its storm protection): ~5 ms for a one-service
 * change at 50,000 tasks, but 0.1–0.5 s for a render from scratch (the first, or a service appearing).
 */
const GAP_MS = Number(arg('gap-ms', '1000'));
const TASKS_PER_SERVICE = 10;
/** Bounds, so that a lost change or a sync that never ends stops the benchmark instead of hanging it. */
const READY_TIMEOUT_MS = 15 * 60_000;
const CHANGE_TIMEOUT_MS = 15_000;

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, index)] ?? Number.NaN;
}
const median = (xs: readonly number[]) =>
  percentile(
    [...xs].sort((a, b) => a - b),
    50,
  );

/** Task number `i` → a distinct loopback address (127.10.0.1 and up), nothing listening there. */
function taskIp(i: number): string {
  return `127.${10 + Math.floor(i / 62_500)}.${Math.floor(i / 250) % 250}.${(i % 250) + 1}`;
}

interface MemorySample {
  readonly at: number;
  readonly rssKb: number;
  readonly hwmKb: number;
}

/** VmRSS and VmHWM of `pid` (kB), or undefined once it is gone. */
function readMemory(pid: number): MemorySample | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const kb = (field: string) =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? Number.NaN);
  return { at: performance.now(), rssKb: kb('VmRSS'), hwmKb: kb('VmHWM') };
}

/** µs per `JSON.parse` of each of `texts`, over about 2,000 parses. */
function jsonParseMicros(texts: readonly string[]): number {
  const rounds = Math.max(1, Math.ceil(2000 / texts.length));
  const start = performance.now();
  for (let r = 0; r < rounds; r++) for (const t of texts) JSON.parse(t);
  return ((performance.now() - start) * 1000) / (rounds * texts.length);
}

interface Daemon {
  readonly child: ChildProcess;
  readonly adminUrl: string;
  output(): string;
  stop(): Promise<void>;
}

/** `node <image flags> dist/cli/main.js run`, as the image's ENTRYPOINT runs it. */
function spawnBuiltDaemon(env: Record<string, string>, adminPort: number): Daemon {
  // BENCH_DAEMON_NODE_FLAGS: extra flags for a diagnosis (e.g. `--cpu-prof --cpu-prof-dir=/tmp/p`).
  const extra = process.env.BENCH_DAEMON_NODE_FLAGS?.split(' ').filter((f) => f !== '') ?? [];
  // BENCH_WITHOUT_IMAGE_FLAGS=1: V8's defaults instead of the image's flags (what the flags are worth).
  const image = process.env.BENCH_WITHOUT_IMAGE_FLAGS === '1' ? [] : imageNodeFlags();
  const child = spawn(process.execPath, [...image, ...extra, DIST_MAIN, 'run'], {
    cwd: REPO_ROOT,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? '/tmp',
      NODE_ENV: 'production',
      ECS_INGRESS_UPSTREAM_MODE: 'dynamic',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_EC2_METADATA_DISABLED: 'true',
      ECS_INGRESS_HTTP_HOST: '127.0.0.1',
      ECS_INGRESS_HTTP_PORT: String(adminPort),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Keep the tail of the output for an error message; the daemon logs one JSON line per event.
  let output = '';
  const logFile = process.env.BENCH_DAEMON_LOG;
  const keep = (chunk: string) => {
    output = (output + chunk).slice(-20_000);
    if (logFile !== undefined) appendFileSync(logFile, chunk);
  };
  child.stdout?.setEncoding('utf8').on('data', keep);
  child.stderr?.setEncoding('utf8').on('data', keep);
  const exited = new Promise<void>((res) => child.once('exit', () => res()));
  return {
    child,
    adminUrl: `http://127.0.0.1:${adminPort}`,
    output: () => output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}

interface SizeResult {
  readonly tasks: number;
  readonly services: number;
  readonly readyS: number;
  readonly steadyRssMb: number;
  readonly steadyRange: readonly [number, number];
  readonly afterChangesRssMb: number;
  readonly peakMb: number;
  readonly breakdown: { fileMb: number; anonMb: number; heapUsedMb: number; heapTotalMb: number };
  readonly latencies: readonly number[];
  /** This process's event-loop delay while measuring (it serves fauxqs and the ECS fake): p99 / max ms. */
  readonly benchLagMs: readonly [number, number];
  readonly jsonParseUs: readonly [number, number];
  readonly load: readonly [number, number];
}

async function measure(aws: AwsFake, fq: FauxqsHarness, totalTasks: number): Promise<SizeResult> {
  const loadBefore = loadavg()[0] ?? Number.NaN;
  const cluster = `bench-${randomUUID().slice(0, 8)}`;
  aws.ecs.addCluster(cluster);
  const services = Math.round(totalTasks / TASKS_PER_SERVICE);
  // Services svc-00001… with 10 tasks each, then `web` (one task on a real backend) and `tcp`
  // (the stream service of the bundle): `services` services and `totalTasks` tasks in all.
  for (let s = 1; s < services - 1; s++) {
    const name = `svc-${String(s).padStart(5, '0')}`;
    aws.ecs.putService(name, { cluster });
    const td = aws.ecs.putTaskDefinition(
      buildTaskDefinition({
        family: name,
        networkMode: 'awsvpc',
        containers: [{ name: 'app', containerPort: 8080 }],
      }),
    );
    for (let k = 0; k < TASKS_PER_SERVICE; k++) {
      aws.ecs.putTask(
        buildAwsvpcTask({
          cluster,
          service: name,
          ip: taskIp(s * TASKS_PER_SERVICE + k),
          taskDefinitionArn: td.taskDefinitionArn!,
        }),
      );
    }
  }
  const b0 = await startBackend('b0', '127.0.0.21');
  const backends: Backend[] = [b0, await startBackend('b1', '127.0.0.22', b0.port)];
  const webTd = aws.ecs.putTaskDefinition(
    buildTaskDefinition({
      family: 'web',
      networkMode: 'awsvpc',
      containers: [{ name: 'app', containerPort: b0.port }],
    }),
  );
  aws.ecs.putService('web', { cluster });
  aws.ecs.putService('tcp', { cluster });
  const tcpTd = aws.ecs.putTaskDefinition(
    buildTaskDefinition({
      family: 'tcp',
      networkMode: 'awsvpc',
      containers: [{ name: 'app', containerPort: 9000 }],
    }),
  );
  // The rest of the task count: `tcp` gets what `web`'s single task leaves of the last two services.
  for (let k = 0; k < 2 * TASKS_PER_SERVICE - 1; k++) {
    aws.ecs.putTask(
      buildAwsvpcTask({
        cluster,
        service: 'tcp',
        ip: taskIp(totalTasks + k),
        taskDefinitionArn: tcpTd.taskDefinitionArn!,
      }),
    );
  }
  const webTask = (b: Backend): Task =>
    aws.ecs.putTask(
      buildAwsvpcTask({ cluster, service: 'web', ip: b.host, taskDefinitionArn: webTd.taskDefinitionArn! }),
    );
  let current = webTask(b0);
  const parseAtStart = jsonParseMicros([taskChangeBody(current), taskChangeBody(current)]);

  const sqs = new SQSClient({ ...fq.sqsConfig(), maxAttempts: 1 });
  const { QueueUrl: queueUrl } = await sqs.send(
    new CreateQueueCommand({ QueueName: `bench-${randomUUID()}` }),
  );
  const bundle = await makeDynamicBundle('tcp');
  const daemon = spawnBuiltDaemon(
    {
      ...daemonBaseEnv(aws.url, cluster, bundle),
      AWS_ENDPOINT_URL_SQS: fq.endpoint,
      ECS_INGRESS_DYNAMIC_CONTROL_LISTEN: `127.0.0.1:${await freePort()}`,
      ECS_INGRESS_DEBUG_LISTEN: `127.0.0.1:${await freePort()}`,
      ECS_INGRESS_STREAM_SERVICES: 'tcp',
      ECS_INGRESS_QUEUE_MODE: 'shared',
      ECS_INGRESS_QUEUE_URL: queueUrl!,
      ECS_INGRESS_LOG_LEVEL: process.env.BENCH_DAEMON_LOG_LEVEL ?? 'warn',
    },
    await freePort(),
  );
  const pid = daemon.child.pid!;
  const samples: MemorySample[] = [];
  const sampler = setInterval(() => {
    const m = readMemory(pid);
    if (m) samples.push(m);
  }, 100);
  const bodies: string[] = [];
  try {
    const startedAt = performance.now();
    for (;;) {
      if (daemon.child.exitCode !== null) throw new Error(`daemon exited:\n${daemon.output()}`);
      if (performance.now() - startedAt > READY_TIMEOUT_MS) throw new Error(`not ready:\n${daemon.output()}`);
      const r = await httpGet(`${daemon.adminUrl}/readyz`, 2000).catch(() => undefined);
      if (r?.status === 200) break;
      await sleep(100);
    }
    const readyAt = performance.now();
    await sleep(STEADY_S * 1000);
    // (A port taken by another process between freePort and the daemon's listen ends the daemon.)
    if (daemon.child.exitCode !== null) throw new Error(`daemon exited:\n${daemon.output()}`);
    // Where the steady RSS is: file-backed pages (mostly the node binary, shared with other
    // processes running it) and anonymous ones (the V8 heap, malloc), and the V8 heap itself.
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const statusMb = (field: string) =>
      Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN) / 1024;
    const metrics = (await get(`${daemon.adminUrl}/metrics`)).body;
    const metricMb = (name: string) =>
      Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(metrics)?.[1] ?? Number.NaN) / 1048576;
    const breakdown = {
      fileMb: statusMb('RssFile'),
      anonMb: statusMb('RssAnon'),
      heapUsedMb: metricMb('nodejs_heap_size_used_bytes'),
      heapTotalMb: metricMb('nodejs_heap_size_total_bytes'),
    };
    // Steady: the second half of the idle window after ready (the first sync's garbage collected).
    const steady = samples.filter((m) => m.at >= readyAt + (STEADY_S * 1000) / 2).map((m) => m.rssKb / 1024);

    const latencies: number[] = [];
    const lag = monitorEventLoopDelay({ resolution: 5 });
    lag.enable();
    for (let i = 1; i <= CHANGES; i++) {
      const target = backends[i % 2]!;
      const next = webTask(target);
      const stopped = aws.ecs.updateTask(current.taskArn!, {
        desiredStatus: 'STOPPED',
        lastStatus: 'STOPPED',
      });
      aws.ecs.removeTask(current.taskArn!);
      const entries = [
        { Id: 'start', MessageBody: taskChangeBody(next) },
        { Id: 'stop', MessageBody: taskChangeBody(stopped) },
      ];
      for (const e of entries) bodies.push(e.MessageBody);
      await sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl!, Entries: entries }));
      const visibleAt = performance.now();
      let served = false;
      while (performance.now() - visibleAt < CHANGE_TIMEOUT_MS) {
        const r = await httpGet(`${bundle.url}/web`, 2000).catch(() => undefined);
        if (r?.status === 200 && r.body === target.name) {
          served = true;
          break;
        }
        await sleep(1);
      }
      if (!served)
        throw new Error(`change ${i} not served within ${CHANGE_TIMEOUT_MS} ms:\n${daemon.output()}`);
      latencies.push(performance.now() - visibleAt);
      current = next;
      await sleep(GAP_MS * (1 + Math.random() / 2));
    }
    lag.disable();
    const parseAtEnd = jsonParseMicros(bodies);
    const changesDoneAt = performance.now();
    await sleep(5000);
    const after = samples.filter((m) => m.at >= changesDoneAt).map((m) => m.rssKb / 1024);
    const last = readMemory(pid);
    return {
      tasks: totalTasks,
      services,
      readyS: (readyAt - startedAt) / 1000,
      steadyRssMb: median(steady),
      steadyRange: [Math.min(...steady), Math.max(...steady)],
      afterChangesRssMb: median(after),
      peakMb: (last?.hwmKb ?? Number.NaN) / 1024,
      breakdown,
      latencies: latencies.sort((a, b) => a - b),
      benchLagMs: [lag.percentile(99) / 1e6, lag.max / 1e6],
      jsonParseUs: [parseAtStart, parseAtEnd],
      load: [loadBefore, loadavg()[0] ?? Number.NaN],
    };
  } finally {
    clearInterval(sampler);
    await daemon.stop();
    sqs.destroy();
    for (const b of backends) await b.close();
    await bundle.cleanup();
    aws.ecs.clusters.delete(cluster);
  }
}

if (!HAS_LUA_MODULES) {
  process.stderr.write(
    'daemon.bench: needs NGINX with the NDK and Lua modules (scripts/setup.sh installs them)\n',
  );
  process.exit(2);
}
const [aws, fq] = await Promise.all([startAwsFake(), startFauxqsServer()]);
const results: SizeResult[] = [];
try {
  for (const tasks of SIZES) {
    process.stderr.write(`daemon.bench: ${tasks} tasks…\n`);
    results.push(await measure(aws, fq, tasks));
  }
} finally {
  await Promise.all([aws.close(), fq.close()]);
}

const f0 = (n: number) => n.toFixed(0);
const f1 = (n: number) => n.toFixed(1);
const row = (label: string, cell: (r: SizeResult) => string) =>
  console.log(`| ${label} | ${results.map(cell).join(' | ')} |`);
console.log(
  `\nThe daemon (dist/cli/main.js run, node ${process.env.BENCH_WITHOUT_IMAGE_FLAGS === '1' ? '(V8 defaults)' : imageNodeFlags().join(' ')}), dynamic mode, ${CHANGES} changes ${GAP_MS}–${GAP_MS * 1.5} ms apart`,
);
console.log(
  `| figure | ${results.map((r) => `${r.tasks.toLocaleString('en')} tasks / ${r.services.toLocaleString('en')} services`).join(' | ')} |`,
);
console.log(`|---|${results.map(() => '---:').join('|')}|`);
row('load average (1 min) before / after', (r) => `${r.load[0].toFixed(1)} / ${r.load[1].toFixed(1)}`);
row('start → ready (first sync applied), s', (r) => f1(r.readyS));
row(
  `RSS steady, MB (median of the last ${STEADY_S / 2} s of ${STEADY_S} s idle after ready; min–max)`,
  (r) => `${f0(r.steadyRssMb)} (${f0(r.steadyRange[0])}–${f0(r.steadyRange[1])})`,
);
row(
  '– of which file-backed (node binary) / anonymous, MB',
  (r) => `${f0(r.breakdown.fileMb)} / ${f0(r.breakdown.anonMb)}`,
);
row('– V8 heap used / total, MB', (r) => `${f0(r.breakdown.heapUsedMb)} / ${f0(r.breakdown.heapTotalMb)}`);
row('RSS after the changes, MB (median of 5 s idle)', (r) => f0(r.afterChangesRssMb));
row('RSS peak (VmHWM), MB', (r) => f0(r.peakMb));
row(
  'SQS message → first request on the new backend, p50 / p99 / max ms',
  (r) =>
    `${f1(percentile(r.latencies, 50))} / ${f1(percentile(r.latencies, 99))} / ${f1(r.latencies.at(-1) ?? Number.NaN)}`,
);
row(
  'this process (fauxqs, ECS fake, client): event-loop delay p99 / max ms',
  (r) => `${f1(r.benchLagMs[0])} / ${f1(r.benchLagMs[1])}`,
);
row(
  '`JSON.parse` of one event text, µs (start / end)',
  (r) => `${f1(r.jsonParseUs[0])} / ${f1(r.jsonParseUs[1])}`,
);
