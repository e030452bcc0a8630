/**
 * The churn experiment of issue 7, shared by the integration test and the benchmark: `wrk` keeps
 * keep-alive connections busy against one service while its endpoint set changes every
 * `intervalMs` (a sliding window of `window` backends over 127.0.0.x backends, so every change
 * adds one backend and removes one). Afterwards the backends' arrival times are compared with when
 * each change entered the store and when it was applied.
 */
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AppliedRecord, RecordingBackend, Stack } from './dynamic-stack.js';
import { upstreamOf } from './dynamic-stack.js';

export const WRK = '/usr/bin/wrk';

export interface WrkResult {
  readonly requests: number;
  readonly socketErrors: { connect: number; read: number; write: number; timeout: number };
  readonly non2xx: number;
  readonly requestsPerSecond: number;
  readonly raw: string;
}

/** Parses wrk 4's summary. Absent "Socket errors"/"Non-2xx" lines mean zero. */
export function parseWrk(raw: string): WrkResult {
  const num = (re: RegExp) => Number(re.exec(raw)?.[1] ?? 0);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(raw);
  return {
    requests: num(/(\d+) requests in/),
    socketErrors: {
      connect: Number(socket?.[1] ?? 0),
      read: Number(socket?.[2] ?? 0),
      write: Number(socket?.[3] ?? 0),
      timeout: Number(socket?.[4] ?? 0),
    },
    non2xx: num(/Non-2xx or 3xx responses: (\d+)/),
    requestsPerSecond: num(/Requests\/sec:\s+([\d.]+)/),
    raw,
  };
}

export function runWrk(url: string, o: { threads: number; connections: number; durationS: number }) {
  return new Promise<WrkResult>((resolve, reject) => {
    const child = spawn(WRK, [`-t${o.threads}`, `-c${o.connections}`, `-d${o.durationS}s`, url], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    // wrk stops by itself after -d; this only guards against a hung wrk.
    const guard = setTimeout(() => child.kill('SIGKILL'), (o.durationS + 30) * 1000);
    child.on('error', (error) => {
      clearTimeout(guard);
      reject(error);
    });
    child.on('exit', (code) => {
      clearTimeout(guard);
      if (code === 0) resolve(parseWrk(out));
      else reject(new Error(`wrk exited with ${code}: ${out}`));
    });
  });
}

export interface ChurnOptions {
  readonly service: string;
  readonly intervalMs: number;
  readonly durationS: number;
  readonly threads: number;
  readonly connections: number;
  /** Backends in the set at any time. Default 2. */
  readonly window?: number;
  /** A request reaching a removed backend later than this after the apply is "late". Default 50. */
  readonly lateMs?: number;
}

export interface ChurnResult {
  readonly wrk: WrkResult;
  readonly changes: number;
  /** Requests that reached the backends (what NGINX forwarded). */
  readonly arrivals: number;
  /** Arrivals at a backend not in the store's set at that moment, and how long after the change. */
  readonly stale: { readonly count: number; readonly fraction: number; readonly lagMs: readonly number[] };
  /** Arrivals at a backend removed by an apply that completed more than `lateMs` earlier. */
  readonly late: number;
  /** Per change: store change → first request on the added backend. */
  readonly changeToFirstMs: readonly number[];
  /** Added backends that got no request before the store removed them again. */
  readonly neverServed: number;
  readonly reloads: number;
  /** Most worker processes seen at once, and the workers of one generation. */
  readonly maxWorkers: number;
  readonly workersPerGeneration: number;
  readonly rssKb: { readonly max: number; readonly end: number };
}

interface Timeline {
  readonly at: number;
  readonly set: ReadonlySet<string>;
}

/** The set in force at `t` (the latest entry at or before t; the first entry before anything). */
function setAt(timeline: readonly Timeline[], t: number): Timeline {
  let found = timeline[0];
  for (const entry of timeline) {
    if (entry.at <= t) found = entry;
    else break;
  }
  if (found === undefined) throw new Error('empty timeline');
  return found;
}

export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

export async function runChurn(
  stack: Stack,
  backends: readonly RecordingBackend[],
  options: ChurnOptions,
): Promise<ChurnResult> {
  const window = options.window ?? 2;
  const lateMs = options.lateMs ?? 50;
  const setFor = (k: number) =>
    Array.from({ length: window }, (_, i) => backends[(k + i) % backends.length]?.endpoint ?? '');
  for (const backend of backends) backend.arrivals.length = 0;

  // The store starts at step 0 and is applied before the load starts.
  const desired: Timeline[] = [{ at: Number.NEGATIVE_INFINITY, set: new Set(setFor(0)) }];
  stack.set([upstreamOf(options.service, setFor(0))]);
  await stack.reconciler.flush();
  const appliesBefore = stack.applies.length;
  const reloadsBefore = stack.reloads();
  const { workers: firstWorkers } = await stack.pids();

  const wrk = runWrk(`http://127.0.0.1:${stack.httpPort}/${options.service}/`, options);
  let done = false;
  let maxWorkers = 0;
  let maxRss = 0;
  const sampler = (async () => {
    while (!done) {
      maxWorkers = Math.max(maxWorkers, (await stack.pids()).workers.length);
      maxRss = Math.max(maxRss, await stack.rssKb());
      await sleep(25);
    }
  })();
  // Let wrk connect, churn, and stop changing a little before wrk ends so the last change settles.
  await sleep(300);
  const changes = Math.max(1, Math.floor((options.durationS * 1000 - 800) / options.intervalMs));
  for (let k = 1; k <= changes; k += 1) {
    const set = setFor(k);
    const at = stack.set([upstreamOf(options.service, set)]);
    desired.push({ at, set: new Set(set) });
    await sleep(options.intervalMs);
  }
  const result = await wrk;
  done = true;
  await sampler;
  await stack.reconciler.flush();
  const rssEnd = await stack.rssKb();

  const applied: Timeline[] = [
    { at: Number.NEGATIVE_INFINITY, set: new Set(setFor(0)) },
    ...stack.applies.slice(appliesBefore).map((a: AppliedRecord) => ({
      at: a.at,
      set: new Set(a.endpoints[options.service] ?? []),
    })),
  ];

  let arrivals = 0;
  const lag: number[] = [];
  let late = 0;
  for (const backend of backends) {
    for (const t of backend.arrivals) {
      arrivals += 1;
      const want = setAt(desired, t);
      if (!want.set.has(backend.endpoint)) lag.push(t - want.at);
      const live = setAt(applied, t - lateMs);
      if (!live.set.has(backend.endpoint)) {
        // Allowed if a later apply (within the last lateMs) put it back.
        const back = applied.some((a) => a.at > t - lateMs && a.at <= t && a.set.has(backend.endpoint));
        if (!back) late += 1;
      }
    }
  }
  const changeToFirstMs: number[] = [];
  let neverServed = 0;
  for (let k = 1; k < desired.length; k += 1) {
    const entry = desired[k];
    const previous = desired[k - 1];
    if (entry === undefined || previous === undefined) continue;
    for (const endpoint of entry.set) {
      if (previous.set.has(endpoint)) continue;
      // Until the store removes it again; a backend that got nothing in that time never served.
      const until = desired.slice(k + 1).find((d) => !d.set.has(endpoint))?.at ?? Number.POSITIVE_INFINITY;
      const backend = backends.find((b) => b.endpoint === endpoint);
      const first = backend?.arrivals.find((t) => t >= entry.at);
      if (first !== undefined && first < until) changeToFirstMs.push(first - entry.at);
      else neverServed += 1;
    }
  }
  lag.sort((a, b) => a - b);
  changeToFirstMs.sort((a, b) => a - b);
  return {
    wrk: result,
    changes,
    arrivals,
    stale: { count: lag.length, fraction: arrivals === 0 ? 0 : lag.length / arrivals, lagMs: lag },
    late,
    changeToFirstMs,
    neverServed,
    reloads: stack.reloads() - reloadsBefore,
    maxWorkers,
    workersPerGeneration: firstWorkers.length,
    rssKb: { max: maxRss, end: rssEnd },
  };
}
