/**
 * Benchmarks of the runtime against a real NGINX on loopback (prints figures; not a test).
 *
 *   node --conditions=source --import tsx packages/controller/bench/apply-latency.bench.ts [--changes 200] [--wrk-seconds 30]
 *
 * 1. Apply latency: from the events of one change entering the store to the first response through
 *    NGINX from the backend that change put in (the only backend of the new config, so the answer
 *    proves the new workers serve). p50/p99 over N changes, (a) with the default debounce (200 ms
 *    quiet, 2 s max) and reload spacing (1 s), each change arriving once the spacing has passed, as a
 *    change in a quiet cluster would; (b) the floor: debounce 0/0 and no spacing.
 * 2. Reloads per burst: a rolling deployment of 50 services × 4 tasks (new tasks PENDING → RUNNING,
 *    old ones draining → STOPPED: 800 events), dispatched within 1 s, and spread over 10 s.
 * 3. Requests failed under `wrk -t2 -c50 -d<s>s` (50 keep-alive connections) while a change is
 *    applied every 500 ms (debounce 0, no spacing): wrk's totals, its socket errors line, non-2xx.
 */
import { execFile } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { ClusterStore } from '@ecs-ingress/store';
import { snapshotEvent } from '@ecs-ingress/testkit';
import { makeTestPrefix, serviceDefinition, type TaskRef, taskChange } from '@ecs-ingress/testkit/e2e';
import { get } from '@ecs-ingress/testkit/net';
import { type BackendGroup, startBackendGroup } from '../src/demo/backends.js';
import { startRuntime } from '../src/runtime/runtime.js';

const execFileAsync = promisify(execFile);

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const value = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  return Number.isFinite(value) && value > 0 ? value : fallback;
}

const CHANGES = arg('changes', 200);
const WRK_SECONDS = arg('wrk-seconds', 30);

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, index)]!;
}

async function withNginx<T>(
  timing: { debounce: { minMs: number; maxMs: number }; minReloadIntervalMs: number },
  hosts: readonly string[],
  body: (ctx: {
    store: ClusterStore;
    port: number;
    backends: BackendGroup;
    reloads: () => number;
    flush: () => Promise<void>;
  }) => Promise<T>,
): Promise<T> {
  const prefix = await makeTestPrefix();
  const backends = await startBackendGroup(
    hosts.map((host, i) => ({ host, service: 'web', shortId: `h${i}` })),
  );
  const store = new ClusterStore();
  store.dispatch(snapshotEvent({ services: ['web'] }));
  store.dispatch(serviceDefinition('web', backends.port));
  const runtime = startRuntime({
    nginx: { configFile: prefix.configFile, prefix: prefix.dir },
    upstreamsFile: prefix.upstreamsFile,
    store,
    ...timing,
  });
  let reloads = 0;
  runtime.applied$.subscribe(() => {
    reloads += 1;
  });
  try {
    await runtime.ready;
    return await body({
      store,
      port: prefix.httpPort,
      backends,
      reloads: () => reloads,
      flush: runtime.flush,
    });
  } finally {
    await runtime.stop();
    await backends.close();
    await prefix.cleanup();
  }
}

/** Part 1: N changes, each replacing the one serving task by a task on the other backend. */
async function applyLatency(timing: {
  debounce: { minMs: number; maxMs: number };
  minReloadIntervalMs: number;
}): Promise<number[]> {
  const hosts = ['127.0.0.61', '127.0.0.62'];
  return withNginx(timing, hosts, async ({ store, port, reloads }) => {
    const latencies: number[] = [];
    let previous: TaskRef | undefined;
    let lastApplyAt = performance.now();
    for (let k = 0; k <= CHANGES; k += 1) {
      const next: TaskRef = { id: `t${k}`, service: 'web', host: hosts[k % 2]! };
      // Let the reload spacing pass, so each change is timed as one arriving in a quiet cluster.
      const wait = lastApplyAt + timing.minReloadIntervalMs + 10 - performance.now();
      if (wait > 0) await sleep(wait);
      const before = reloads();
      const t0 = performance.now();
      store.dispatch(taskChange(next, 'RUNNING', 3));
      if (previous) store.dispatch(taskChange(previous, 'RUNNING', 4, { desiredStatus: 'STOPPED' }));
      // Bounded: 30 s per change at most.
      let served = false;
      while (performance.now() - t0 < 30_000) {
        const { status, body } = await get(port).catch(() => ({ status: 0, body: '' }));
        if (status === 200 && body.includes(` ${next.host}:`)) {
          served = true;
          break;
        }
      }
      if (!served) throw new Error(`change ${k} not served within 30 s`);
      const latency = performance.now() - t0;
      // The reload itself has ended shortly after the new workers answered.
      for (let i = 0; i < 500 && reloads() === before; i += 1) await sleep(2);
      lastApplyAt = performance.now();
      if (k > 0) latencies.push(latency); // k = 0 is the warm-up from the empty upstream.
      previous = next;
    }
    return latencies.sort((a, b) => a - b);
  });
}

/** Part 2: rolling deployment of 50 services × 4 tasks; reloads counted. */
async function rollingDeployment(spreadMs: number): Promise<{ events: number; reloads: number }> {
  const prefix = await makeTestPrefix();
  const store = new ClusterStore();
  const services = Array.from({ length: 50 }, (_, s) => `svc${s}`);
  store.dispatch(snapshotEvent({ services: ['web', ...services] }));
  for (const name of services) {
    store.dispatch(serviceDefinition(name, 8080, 1));
    store.dispatch(serviceDefinition(name, 8080, 2));
  }
  const ref = (s: number, t: number, revision: number): TaskRef => ({
    id: `r${revision}s${s}t${t}`,
    service: services[s]!,
    host: `10.${revision}.${s}.${t + 1}`,
    revision,
  });
  for (let s = 0; s < 50; s += 1)
    for (let t = 0; t < 4; t += 1) store.dispatch(taskChange(ref(s, t, 1), 'RUNNING', 3));
  const runtime = startRuntime({
    nginx: { configFile: prefix.configFile, prefix: prefix.dir },
    upstreamsFile: prefix.upstreamsFile,
    store,
  });
  let reloads = 0;
  runtime.applied$.subscribe(() => {
    reloads += 1;
  });
  try {
    await runtime.ready;
    const events = [];
    for (let s = 0; s < 50; s += 1) {
      for (let t = 0; t < 4; t += 1) {
        events.push(taskChange(ref(s, t, 2), 'PENDING', 1), taskChange(ref(s, t, 2), 'RUNNING', 3));
        events.push(taskChange(ref(s, t, 1), 'RUNNING', 4, { desiredStatus: 'STOPPED' }));
        events.push(taskChange(ref(s, t, 1), 'STOPPED', 6));
      }
    }
    const slices = 20;
    for (let i = 0; i < slices; i += 1) {
      const size = Math.ceil(events.length / slices);
      for (const event of events.slice(i * size, (i + 1) * size)) store.dispatch(event);
      await sleep(spreadMs / slices);
    }
    // Let the debounce (max 2 s) and the reload spacing (1 s) run out, then whatever is left.
    await sleep(3_500);
    await runtime.flush();
    const live = runtime.liveUpstreams().filter((u) => u.name !== 'web');
    const done = live.every((u) => u.servers.every((sv) => sv.address.startsWith('10.2.')));
    if (!done) throw new Error('rolling deployment did not converge');
    return { events: events.length, reloads };
  } finally {
    await runtime.stop();
    await prefix.cleanup();
  }
}

/** Part 3: wrk during a reload every 500 ms. */
async function wrkDuringReloads(): Promise<{ command: string; output: string; reloads: number }> {
  const hosts = ['127.0.0.71', '127.0.0.72', '127.0.0.73', '127.0.0.74'];
  const timing = { debounce: { minMs: 0, maxMs: 0 }, minReloadIntervalMs: 0 };
  return withNginx(timing, hosts, async ({ store, port, reloads, flush }) => {
    // Three of the four backends serve at any time; each step swaps the first and the last, so
    // every step renders new bytes (one reload) and the upstream is never empty.
    const active = new Map<string, TaskRef>();
    for (const host of hosts.slice(0, 3)) {
      const ref: TaskRef = { id: `w-${host}`, service: 'web', host };
      active.set(host, ref);
      store.dispatch(taskChange(ref, 'RUNNING', 3));
    }
    await flush();
    const command = `wrk -t2 -c50 -d${WRK_SECONDS}s http://127.0.0.1:${port}/`;
    const wrk = execFileAsync('wrk', ['-t2', '-c50', `-d${WRK_SECONDS}s`, `http://127.0.0.1:${port}/`], {
      timeout: (WRK_SECONDS + 30) * 1000,
    });
    const before = reloads();
    const until = performance.now() + WRK_SECONDS * 1000;
    for (let step = 0; performance.now() < until; step += 1) {
      const [out, into] = step % 2 === 0 ? [hosts[0]!, hosts[3]!] : [hosts[3]!, hosts[0]!];
      const leaving = active.get(out)!;
      const arriving: TaskRef = { id: `w${step}`, service: 'web', host: into };
      store.dispatch(taskChange(leaving, 'RUNNING', 4, { desiredStatus: 'STOPPED' }));
      store.dispatch(taskChange(arriving, 'RUNNING', 3));
      active.delete(out);
      active.set(into, arriving);
      await flush();
      await sleep(500);
    }
    const { stdout } = await wrk;
    return { command, output: stdout, reloads: reloads() - before };
  });
}

const row = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;

async function main(): Promise<void> {
  const defaults = { debounce: { minMs: 200, maxMs: 2000 }, minReloadIntervalMs: 1000 };
  const floor = { debounce: { minMs: 0, maxMs: 0 }, minReloadIntervalMs: 0 };
  const withDefaults = await applyLatency(defaults);
  const withoutDebounce = await applyLatency(floor);
  const burst = await rollingDeployment(1_000);
  const spread = await rollingDeployment(10_000);
  const wrk = await wrkDuringReloads();

  const f = (n: number) => `${n.toFixed(0)} ms`;
  console.log(`\n${process.argv.slice(1).join(' ')}`);
  console.log(`node ${process.version}, ${CHANGES} changes\n`);
  console.log(row(['measure', 'p50', 'p99', 'max']));
  console.log(row(['---', '---', '---', '---']));
  for (const [name, l] of [
    ['apply latency, default debounce (200 ms / 2 s)', withDefaults],
    ['apply latency, no debounce (floor)', withoutDebounce],
  ] as const) {
    console.log(row([name, f(percentile(l, 50)), f(percentile(l, 99)), f(l.at(-1) ?? Number.NaN)]));
  }
  console.log('');
  console.log(row(['rolling deployment, 50 services × 4 tasks', 'events', 'reloads']));
  console.log(row(['---', '---', '---']));
  console.log(row(['all events within 1 s', String(burst.events), String(burst.reloads)]));
  console.log(row(['events spread over 10 s', String(spread.events), String(spread.reloads)]));
  console.log('');
  console.log(`${wrk.command}  (${wrk.reloads} reloads, one every 500 ms)`);
  console.log(wrk.output.trim());
  const socketErrors = /Socket errors:.*/.exec(wrk.output)?.[0] ?? 'Socket errors: none reported';
  const non2xx = /Non-2xx or 3xx responses: \d+/.exec(wrk.output)?.[0] ?? 'Non-2xx or 3xx responses: 0';
  console.log(`\nfailed requests: ${socketErrors}; ${non2xx}`);
}

await main();
