/**
 * Routes from labels (issue 16), the pure core alone: `resolveRoutes` (parse every service's
 * labels, resolve claims, canaries, policy) + `renderHttpRoutes` + `renderStreamRoutes` for a
 * synthetic cluster of 1,000 exposed services.
 *
 *   pnpm bench routes.bench.ts
 *
 * Each service has a default route (its own host under apps.example.com, 20 % with TLS and a
 * redirect, some with methods/allow/max-body/timeout/gzip) and, for one in three, an `api` route on
 * a shared host with its own path; one in twenty is a canary of another service's route, one in
 * fifty a tcp route. Figures: ms per resolve + render of the whole table, median and p99 over 200
 * runs (after 20 warm-up runs), each after 5 services got a new revision (new label objects, one
 * label changed: as the reconciler sees it), and cold (a fresh copy of every label object, so
 * nothing is reused); bytes rendered, and the states. Target (issue 16, derive + render
 * with routes for 1,000 services / 10,000 tasks): <= 20 ms p99; this measures the route part only,
 * the upstream part is store.bench.ts.
 */
import { cpus, loadavg } from 'node:os';
import { renderHttpRoutes, renderStreamRoutes } from '@ecs-ingress/renderer';
import { resolveRoutes, type ServiceRoutesInput } from '../src/routes/resolve-routes.js';
import type { RouteSettings } from '../src/routes/route-settings.js';
import { addSharedRouteLabels, P } from './route-labels.js';

const SERVICES = 1_000;
const RUNS = 200;
const WARMUP = 20;

function services(): ServiceRoutesInput[] {
  return Array.from({ length: SERVICES }, (_, i) => {
    const labels: Record<string, string> = { [`${P}http.hosts`]: `svc-${i}.apps.example.com` };
    addSharedRouteLabels(labels, i);
    if (i % 3 === 0) {
      labels[`${P}http.api.strip-prefix`] = 'true';
      labels[`${P}http.api.timeout`] = '1h';
      labels[`${P}http.api.gzip`] = 'true';
    }
    if (i % 20 === 19) {
      labels[`${P}http.canary.hosts`] = `svc-${i - 1}.apps.example.com`;
      labels[`${P}http.canary.canary-weight`] = '10';
    }
    if (i % 50 === 0) labels[`${P}tcp.listen`] = String(10_000 + i);
    return { name: `svc-${i}`, createdAt: 1_700_000_000_000 + i, labels };
  });
}

const input = services();
const CHANGED_PER_RUN = 5;
/** Five services get a new task definition revision: new label objects, gzip toggled. */
function churn(run: number): void {
  for (let k = 0; k < CHANGED_PER_RUN; k += 1) {
    const i = (run * 37 + k * 211) % SERVICES;
    const service = input[i]!;
    const labels = { ...service.labels, [`${P}http.gzip`]: run % 2 === 0 ? 'true' : 'false' };
    input[i] = { ...service, labels };
  }
}
const settings: RouteSettings = { tcpPorts: [{ from: 10_000, to: 11_000 }] };
const options = { bundleDir: '/app/nginx/bundle' };
let bytes = 0;
const times: number[] = [];
for (let run = 0; run < WARMUP + RUNS; run += 1) {
  churn(run);
  const start = process.hrtime.bigint();
  const table = resolveRoutes(input, settings);
  const http = renderHttpRoutes(table, options);
  const stream = renderStreamRoutes(table);
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (run >= WARMUP) times.push(ms);
  bytes = http.text.length + stream.text.length;
}
times.sort((a, b) => a - b);
const cold: number[] = [];
for (let run = 0; run < 20; run += 1) {
  const fresh = input.map((service) => ({ ...service, labels: { ...service.labels } }));
  const start = process.hrtime.bigint();
  const table = resolveRoutes(fresh, settings);
  renderHttpRoutes(table, options);
  renderStreamRoutes(table);
  cold.push(Number(process.hrtime.bigint() - start) / 1e6);
}
cold.sort((a, b) => a - b);
const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))]?.toFixed(2);
const table = resolveRoutes(input, settings);
const states = new Map<string, number>();
for (const report of table.reports) states.set(report.state, (states.get(report.state) ?? 0) + 1);
console.log(
  `routes: ${SERVICES} services, ${table.reports.length} routes ${JSON.stringify(Object.fromEntries(states))}`,
);
console.log(`        ${table.hosts.length} hosts, ${table.tcp.length} tcp routes, ${bytes} bytes rendered`);
console.log(
  `resolve + render after ${CHANGED_PER_RUN} changed services (ms, ${RUNS} runs): median ${at(0.5)}, p99 ${at(0.99)}, max ${at(1)}  (target p99 <= 20)`,
);
console.log(
  `cold, nothing reused (ms, 20 runs): median ${cold[10]?.toFixed(2)}, max ${cold[19]?.toFixed(2)}`,
);
console.log(
  `machine: ${cpus().length} cpus, load ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}, node ${process.version}`,
);
