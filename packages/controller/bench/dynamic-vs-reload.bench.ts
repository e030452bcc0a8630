/**
 * Issue 7: the endpoint-churn experiment in reload mode and in dynamic mode, side by side, in one
 * run, on the same backends with the same churn.
 *
 *   node --conditions=source --import tsx packages/controller/bench/dynamic-vs-reload.bench.ts \
 *     [--duration 18] [--connections 50] [--threads 2] [--interval 200] [--backend-nice 0] [--backend-processes 1]
 *
 * Each mode: a real NGINX (2 workers) supervised by nginx-runner, the real reconciler (debounce
 * min 5 ms / max 50 ms), 8 node backends on 127.0.0.2–9, one service whose endpoint set changes
 * every `interval` ms (a sliding window of 2 backends: each change adds one, removes one), and
 * `wrk` with `connections` keep-alive connections for `duration` seconds.
 *   - reload: the ancestor's single upstreams file, every change = write, nginx -t, SIGHUP, confirm
 *     (no reload spacing, so every change is applied, as the ancestor and the issue measured);
 *   - reload (1 s spacing): the same with the reconciler's default minReloadIntervalMs 1000;
 *   - dynamic: the Lua balancer; endpoint-only changes are pushed to the control endpoint on the
 *     next tick (the reconciler's endpoint debounce, min 0 / max 100 ms, as the runtime wires it);
 *   - dynamic (reload debounce): the same, but endpoint-only changes wait the 5/50 ms debounce like
 *     structural ones — how dynamic mode ran before the endpoint debounce existed (before/after).
 * "Stale" = a request that reached a backend the store had already removed; its lag is measured
 * from that store change. "Change → first request" = from the store change to the first request
 * the added backend received; "apply done → first request" = from the end of the apply (push answer
 * or confirmed reload, stamped in this process) to that first request as stamped by the backend
 * process — both read CLOCK_MONOTONIC directly (backend-fleet.ts sharedClock), no offset estimate.
 * "… first balanced to new backend (NGINX)" (dynamic only) ends instead when NGINX's balancer first
 * chose the added backend (a bench-only wrapper stamps CLOCK_MONOTONIC through LuaJIT's FFI,
 * dynamic-stack.ts): the proxy-side figure, without the backend process's event-loop queueing
 * (one node process serving 8 backends on 2 busy cores). RSS = sum of VmRSS of the master and all
 * its children (sampled every 25 ms; max over the run).
 */
import { availableParallelism, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { startBackendFleet } from '@ecs-ingress/testkit/net';
import { type ChurnResult, quantile, runChurn } from '../src/test-support/churn.js';
import { type StackOptions, startStack, upstreamOf } from '../src/test-support/dynamic-stack.js';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '18' },
    connections: { type: 'string', default: '50' },
    threads: { type: 'string', default: '2' },
    interval: { type: 'string', default: '200' },
    'backend-nice': { type: 'string', default: '0' },
    'backend-processes': { type: 'string', default: '1' },
  },
});
// Read before anything runs: at the end the 1-minute average mostly shows this benchmark itself.
const loadAtStart = loadavg()[0] ?? Number.NaN;
const durationS = Number(values.duration);
const connections = Number(values.connections);
const threads = Number(values.threads);
const intervalMs = Number(values.interval);

interface Mode {
  readonly label: string;
  readonly options: Pick<StackOptions, 'mode' | 'minReloadIntervalMs' | 'endpointDebounce'>;
}
const MODES: Mode[] = [
  { label: 'reload', options: { mode: 'reload', minReloadIntervalMs: 0 } },
  { label: 'reload (1 s spacing)', options: { mode: 'reload', minReloadIntervalMs: 1000 } },
  {
    label: 'dynamic (reload debounce)',
    options: { mode: 'dynamic', minReloadIntervalMs: 1000, endpointDebounce: false },
  },
  { label: 'dynamic', options: { mode: 'dynamic', minReloadIntervalMs: 1000 } },
];

const backendNice = Number(values['backend-nice']);
const backendProcesses = Number(values['backend-processes']);
const fleet = await startBackendFleet(
  Array.from({ length: 8 }, (_, i) => ({ name: `b${i}`, host: `127.0.0.${i + 2}` })),
  { nice: backendNice, processes: backendProcesses },
);
const backends = fleet.backends;

const results: { label: string; result: ChurnResult }[] = [];
try {
  for (const mode of MODES) {
    const stack = await startStack({
      ...mode.options,
      initial: [upstreamOf('web', [backends[0]?.endpoint ?? '', backends[1]?.endpoint ?? ''])],
      workers: 2,
      debounce: { minMs: 5, maxMs: 50 },
    });
    try {
      process.stderr.write(`running ${mode.label} for ${durationS} s…\n`);
      const result = await runChurn(stack, fleet, {
        service: 'web',
        intervalMs,
        durationS,
        threads,
        connections,
      });
      results.push({ label: mode.label, result });
    } finally {
      await stack.stop();
    }
  }
} finally {
  await fleet.close();
}

const ms = (value: number) => (Number.isFinite(value) ? value.toFixed(1) : 'n/a');
const p50p99 = (sorted: readonly number[]) =>
  sorted.length === 0 ? 'n/a' : `${ms(quantile(sorted, 0.5))} / ${ms(quantile(sorted, 0.99))}`;
const rows: [string, (r: ChurnResult) => string][] = [
  ['requests (wrk)', (r) => String(r.wrk.requests)],
  ['requests/s', (r) => r.wrk.requestsPerSecond.toFixed(0)],
  [
    'socket errors (connect/read/write/timeout)',
    (r) => {
      const e = r.wrk.socketErrors;
      return `${e.connect + e.read + e.write + e.timeout} (${e.connect}/${e.read}/${e.write}/${e.timeout})`;
    },
  ],
  ['non-2xx responses', (r) => String(r.wrk.non2xx)],
  ['endpoint changes', (r) => String(r.changes)],
  ['reloads', (r) => String(r.reloads)],
  ['served by a stale endpoint set', (r) => `${(r.stale.fraction * 100).toFixed(2)} %`],
  [
    'stale lag p50 / p99 / max (ms)',
    (r) =>
      r.stale.count === 0
        ? '–'
        : `${ms(quantile(r.stale.lagMs, 0.5))} / ${ms(quantile(r.stale.lagMs, 0.99))} / ${ms(r.stale.lagMs.at(-1) ?? Number.NaN)}`,
  ],
  ['change → apply done (push answer / confirmed reload) p50 / p99 (ms)', (r) => p50p99(r.changeToAppliedMs)],
  ['change → first request on new backend (backend stamp) p50 / p99 (ms)', (r) => p50p99(r.changeToFirstMs)],
  ['change → first balanced to new backend (NGINX) p50 / p99 (ms)', (r) => p50p99(r.changeToFirstBalancedMs)],
  [
    'apply done → first request on new backend (backend stamp) p50 / p99 (ms)',
    (r) => p50p99(r.appliedToFirstMs),
  ],
  [
    'apply done → first balanced to new backend (NGINX) p50 / p99 (ms)',
    (r) => p50p99(r.appliedToFirstBalancedMs),
  ],
  ['added backends never served before removal', (r) => String(r.neverServed)],
  [
    'worker processes max (old generations max)',
    (r) =>
      `${r.maxWorkers} (${Math.max(0, Math.ceil(r.maxWorkers / Math.max(1, r.workersPerGeneration)) - 1)})`,
  ],
  [
    'NGINX RSS max / end (MiB)',
    (r) => `${(r.rssKb.max / 1024).toFixed(1)} / ${(r.rssKb.end / 1024).toFixed(1)}`,
  ],
];

const header = `| | ${results.map((r) => r.label).join(' | ')} |`;
const rule = `|---|${results.map(() => '---:').join('|')}|`;
const body = rows.map(([name, cell]) => `| ${name} | ${results.map((r) => cell(r.result)).join(' | ')} |`);
const table = [header, rule, ...body].join('\n');
console.log(
  `machine: nproc = ${availableParallelism()}, node ${process.version}, 1-min load average before the run ${loadAtStart.toFixed(1)}, after ${(loadavg()[0] ?? Number.NaN).toFixed(1)}`,
);
console.log(table);

const dynamic = results.find((r) => r.label === 'dynamic')?.result;
const p99 = (sorted: readonly number[]) => ms(quantile(sorted, 0.99));
const verdict =
  dynamic === undefined
    ? ''
    : `Targets for dynamic: 0 errors → ${dynamic.wrk.non2xx + Object.values(dynamic.wrk.socketErrors).reduce((a, b) => a + b, 0)}; ` +
      `p99 change-to-serving ≤ 10 ms → store change → first balanced (NGINX) ${p99(dynamic.changeToFirstBalancedMs)} ms, ` +
      `→ first request at the backend ${p99(dynamic.changeToFirstMs)} ms; ` +
      `push done → first balanced ${p99(dynamic.appliedToFirstBalancedMs)} ms, → at the backend ${p99(dynamic.appliedToFirstMs)} ms; ` +
      `0 reloads for endpoint-only changes → ${dynamic.reloads}.`;
console.log(verdict);
