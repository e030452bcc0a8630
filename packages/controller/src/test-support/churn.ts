/**
 * The churn experiment of issue 7, shared by the integration test and the benchmark: `wrk` keeps
 * keep-alive connections busy against one service while its endpoint set changes every
 * `intervalMs` (a sliding window of `window` backends over 127.0.0.x backends, so every change
 * adds one backend and removes one). Afterwards the backends' arrival times are compared with when
 * each change entered the store and when it was applied.
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BackendFleet } from '@ecs-ingress/testkit/net';
import type { AppliedRecord, Stack, VersionRecord } from './dynamic-stack.js';
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

export function runWrk(
  url: string,
  o: { threads: number; connections: number; durationS: number; wrkTimeoutS?: number },
) {
  return new Promise<WrkResult>((resolve, reject) => {
    // Niced: in production the clients are elsewhere; here they share the cores with NGINX and the
    // controller whose latency is being measured.
    const args = [
      `-t${o.threads}`,
      `-c${o.connections}`,
      `-d${o.durationS}s`,
      ...(o.wrkTimeoutS === undefined ? [] : [`--timeout`, `${o.wrkTimeoutS}s`]),
      url,
    ];
    const child = spawn('/usr/bin/nice', ['-n', '10', WRK, ...args], {
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
  /**
   * wrk's per-request timeout (wrk's default: 2 s). A request slower than this counts as a socket
   * "timeout" error although nothing failed; on a starved 2-core machine a response can take that
   * long. Resets and refused connections are counted whatever this is.
   */
  readonly wrkTimeoutS?: number;
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
  /**
   * Dynamic mode: balancer decisions (one per try) that sent a request to a backend the endpoint set
   * live in NGINX's shared dict at that decision did not hold — i.e. after the push removing it had
   * landed (0 ms tolerance, no clock involved). Reload mode: `lateByDispatch`.
   */
  readonly late: number;
  /** Dynamic mode: the offending decisions as `<ip:port>@<live>/<used>`. */
  readonly lateDecisions: readonly string[];
  /** Dynamic mode: balancer decisions read from NGINX's decision log (0 in reload mode). */
  readonly decisions: number;
  /**
   * Clock-based estimate (both modes): requests NGINX dispatched (its `$msec`, else the arrival)
   * to a backend the store had removed, more than `lateMs` after the apply of that removal ended
   * (or to a backend the store never had: Infinity). Not exact: `$msec` is the worker's cached
   * event-loop time and the arrival is stamped by another process, so on a loaded machine a
   * request can be dated before the store change whose push it was balanced with.
   */
  readonly lateByDispatch: number;
  readonly lateByMs: readonly number[];
  /** Per change: store change → first request on the added backend. */
  readonly changeToFirstMs: readonly number[];
  /** Per change: end of the apply (push or confirmed reload) → first request on the added backend. */
  readonly appliedToFirstMs: readonly number[];
  /**
   * Dynamic mode (empty in reload mode): the same two intervals ending when NGINX's balancer first
   * chose the added backend (its FFI CLOCK_MONOTONIC stamp, dynamic-stack.ts), i.e. without the
   * backend process's own queueing. Store change → first balanced; apply done → first balanced.
   */
  readonly changeToFirstBalancedMs: readonly number[];
  /** Per change: store change → end of the apply that first put the added backend live. */
  readonly changeToAppliedMs: readonly number[];
  readonly appliedToFirstBalancedMs: readonly number[];
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

/** When the store last removed `endpoint` at or before `t`; undefined if it never had it. */
function lastRemoval(timeline: readonly Timeline[], endpoint: string, t: number): number | undefined {
  let removedAt: number | undefined;
  for (let k = 1; k < timeline.length; k += 1) {
    const entry = timeline[k];
    if (entry === undefined || entry.at > t) break;
    if (timeline[k - 1]?.set.has(endpoint) && !entry.set.has(endpoint)) removedAt = entry.at;
  }
  return removedAt;
}

/** A service's endpoint set at version `v`: the latest push at or before v that listed it. */
function setAtVersion(
  versions: readonly VersionRecord[],
  service: string,
  v: number,
): Set<string> | undefined {
  let found: readonly string[] | undefined;
  for (const record of versions) {
    if (record.version > v) break;
    const list = record.endpoints[service];
    if (list !== undefined) found = list;
  }
  return found === undefined ? undefined : new Set(found);
}

/**
 * Judges the balancer's decisions (`<ip:port>@<live>/<used>` per try, one log line per request: the
 * shared dict's version counter when the try began, and the version of the list the peer came from)
 * against the endpoint set each version stands for. Wrong: the peer is not in the list it was taken
 * from, or that list was older than the live one and the live set no longer holds the peer (a stale
 * cache or a retry on an outdated list). A version no push answered holds nothing, so any peer
 * chosen with it is wrong.
 */
export function judgeDecisions(
  log: string,
  versions: readonly VersionRecord[],
  service: string,
): { decisions: number; wrong: string[] } {
  let decisions = 0;
  const wrong: string[] = [];
  const sorted = [...versions].sort((a, b) => a.version - b.version);
  for (const line of log.split('\n')) {
    // The decisions are the line's first field; the balancer times follow after a space.
    const text = line.trim().split(' ')[0] ?? '';
    if (text === '' || text === '-') continue;
    for (const item of text.split(',')) {
      decisions += 1;
      const match = /^(\d+\.\d+\.\d+\.\d+:\d+)@(\d+)\/(\d+)$/.exec(item);
      if (match === null) {
        wrong.push(item);
        continue;
      }
      const peer = match[1] ?? '';
      const live = Number(match[2]);
      const used = Number(match[3]);
      const inUsed = setAtVersion(sorted, service, used)?.has(peer) === true;
      const inLive = setAtVersion(sorted, service, live)?.has(peer) === true;
      if (!inUsed || (used < live && !inLive)) wrong.push(item);
    }
  }
  return { decisions, wrong };
}

/**
 * Per peer, sorted: when NGINX's balancer chose it (ms on `sharedClock()`), from the decision
 * log's lines `<decisions> <µs>,…` (one time per try, in the order of the decisions). A line whose
 * counts differ is skipped rather than guessed at.
 */
export function balancerTimes(log: string): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const line of log.split('\n')) {
    const [decisions = '', times = ''] = line.trim().split(' ');
    if (decisions === '' || decisions === '-' || times === '' || times === '-') continue;
    const items = decisions.split(',');
    const stamps = times.split(',');
    if (items.length !== stamps.length) continue;
    items.forEach((item, i) => {
      const peer = /^(\d+\.\d+\.\d+\.\d+:\d+)@/.exec(item)?.[1];
      const us = Number(stamps[i]);
      if (peer === undefined || !Number.isFinite(us)) return;
      const list = out.get(peer) ?? [];
      list.push(us / 1000);
      out.set(peer, list);
    });
  }
  for (const list of out.values()) list.sort((a, b) => a - b);
  return out;
}

export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

export async function runChurn(
  stack: Stack,
  fleet: BackendFleet,
  options: ChurnOptions,
): Promise<ChurnResult> {
  const backends = fleet.backends;
  const window = options.window ?? 2;
  const lateMs = options.lateMs ?? 50;
  const setFor = (k: number) =>
    Array.from({ length: window }, (_, i) => backends[(k + i) % backends.length]?.endpoint ?? '');

  // The store starts at step 0 and is applied before the load starts.
  const desired: Timeline[] = [{ at: Number.NEGATIVE_INFINITY, set: new Set(setFor(0)) }];
  stack.set([upstreamOf(options.service, setFor(0))]);
  await stack.reconciler.flush();
  await fleet.reset();
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
  const arrivalsOf = await fleet.collect();

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
  const lateBy: number[] = [];
  // Decisions: written by NGINX when each request ends; wrk has stopped and the reconciler is
  // flushed, so the log is complete up to requests NGINX is still finishing.
  const decisionText =
    stack.decisionLog === undefined ? undefined : await readFile(stack.decisionLog, 'utf8');
  const judged =
    decisionText === undefined ? undefined : judgeDecisions(decisionText, stack.versions, options.service);
  const balancedAt = decisionText === undefined ? new Map<string, number[]>() : balancerTimes(decisionText);
  for (const backend of backends) {
    const record = arrivalsOf.get(backend.endpoint) ?? { arrivals: [], sent: [] };
    record.arrivals.forEach((t, i) => {
      arrivals += 1;
      const want = setAt(desired, t);
      if (!want.set.has(backend.endpoint)) lag.push(t - want.at);
      // Late is judged at NGINX's dispatch: on a loaded machine the backend process may stamp an
      // arrival tens of ms after NGINX sent it, which says nothing about routing.
      const sentAt = record.sent[i];
      const d = sentAt !== undefined && Number.isFinite(sentAt) ? Math.min(sentAt, t) : t;
      // Late: the store no longer wants the backend at dispatch, and the apply that removed it
      // ended more than lateMs before. (A request to a backend the store wants is never late, even
      // if it precedes the moment the controller read NGINX's answer.)
      if (!setAt(desired, d).set.has(backend.endpoint)) {
        const removal = lastRemoval(desired, backend.endpoint, d);
        const removedLive =
          removal === undefined
            ? undefined
            : applied.find((a) => a.at >= removal && !a.set.has(backend.endpoint));
        const since = removal === undefined ? Number.POSITIVE_INFINITY : d - (removedLive?.at ?? d);
        if (since > lateMs) {
          late += 1;
          lateBy.push(since);
        }
      }
    });
  }
  const changeToFirstMs: number[] = [];
  let neverServed = 0;
  const appliedToFirstMs: number[] = [];
  const changeToFirstBalancedMs: number[] = [];
  const appliedToFirstBalancedMs: number[] = [];
  const changeToAppliedMs: number[] = [];
  for (let k = 1; k < desired.length; k += 1) {
    const entry = desired[k];
    const previous = desired[k - 1];
    if (entry === undefined || previous === undefined) continue;
    for (const endpoint of entry.set) {
      if (previous.set.has(endpoint)) continue;
      // Until the store removes it again; a backend that got nothing in that time never served.
      const until = desired.slice(k + 1).find((d) => !d.set.has(endpoint))?.at ?? Number.POSITIVE_INFINITY;
      const putLive = applied.find((a) => a.at >= entry.at && a.set.has(endpoint));
      if (putLive !== undefined && putLive.at < until) changeToAppliedMs.push(putLive.at - entry.at);
      const backend = backends.find((b) => b.endpoint === endpoint);
      const first = arrivalsOf.get(backend?.endpoint ?? '')?.arrivals.find((t) => t >= entry.at);
      if (first !== undefined && first < until) {
        changeToFirstMs.push(first - entry.at);
        // The apply that first put it live; a request may land before the controller has read
        // NGINX's answer, hence the floor at 0.
        const live = applied.find((a) => a.at >= entry.at && a.set.has(endpoint));
        if (live !== undefined) appliedToFirstMs.push(Math.max(0, first - live.at));
      } else neverServed += 1;
      const balanced = balancedAt.get(endpoint)?.find((t) => t >= entry.at);
      if (balanced !== undefined && balanced < until) {
        changeToFirstBalancedMs.push(balanced - entry.at);
        // The balancer may pick the peer before this process has read the push's answer: floor 0.
        const live = applied.find((a) => a.at >= entry.at && a.set.has(endpoint));
        if (live !== undefined) appliedToFirstBalancedMs.push(Math.max(0, balanced - live.at));
      }
    }
  }
  lag.sort((a, b) => a - b);
  changeToFirstMs.sort((a, b) => a - b);
  appliedToFirstMs.sort((a, b) => a - b);
  changeToFirstBalancedMs.sort((a, b) => a - b);
  changeToAppliedMs.sort((a, b) => a - b);
  appliedToFirstBalancedMs.sort((a, b) => a - b);
  return {
    wrk: result,
    changes,
    arrivals,
    stale: { count: lag.length, fraction: arrivals === 0 ? 0 : lag.length / arrivals, lagMs: lag },
    late: judged === undefined ? late : judged.wrong.length,
    lateDecisions: judged?.wrong ?? [],
    decisions: judged?.decisions ?? 0,
    lateByDispatch: late,
    lateByMs: lateBy.sort((a, b) => a - b),
    changeToFirstMs,
    appliedToFirstMs,
    changeToFirstBalancedMs,
    appliedToFirstBalancedMs,
    changeToAppliedMs,
    neverServed,
    reloads: stack.reloads() - reloadsBefore,
    maxWorkers,
    workersPerGeneration: firstWorkers.length,
    rssKb: { max: maxRss, end: rssEnd },
  };
}
