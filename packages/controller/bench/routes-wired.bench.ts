/**
 * Routes from labels as the running daemon renders them (issue 16): one state of the store →
 * the runtime's render (`createStateRender`: the memoised deriver, which also derives each
 * service's route source and port upstreams; the upstreams file; `createRoutesRenderer`: resolve
 * + render of both route files, memoised on the labels objects; one hash over all files).
 *
 *   pnpm bench routes-wired.bench.ts     (compiled, with the image's node flags: scripts/bench.mjs)
 *
 * 1,000 services / 10,000 awsvpc tasks, every service exposed by labels (its own host; one in
 * three an `api` route on one of 30 shared hosts; one in ten a port route with its own upstream;
 * one in twenty a canary of another service; some with TLS, methods, allow, limits). Timed, each
 * over 300 runs after 30 warm-up runs, from the state change to the config's hash:
 *  - a task change: one task of one service replaced (new address) — endpoints only, the route
 *    table is not resolved again;
 *  - a deploy: one service gets a new task definition revision (new labels object, its path
 *    changed) and its tasks are replaced — the route table is resolved and rendered again;
 *  - cold: a fresh deriver and routes renderer on the same state (a restart's first render; the
 *    host texts are rendered again too, as in a new process).
 * Each change's time is also split into its parts (derive / routes: resolve + render + hash of
 * the route files / the rest: the upstreams file and the config hash), and `JSON.parse` of 2,000
 * task events is timed before and after, as the machine's speed at that moment (store.bench.ts).
 * Target (issue 16): derive + resolve + render with routes for 1,000 services / 10,000 tasks
 * <= 20 ms p99.
 */
import { cpus, loadavg } from 'node:os';
import { ClusterStore, createUpstreamDeriver } from '@ecs-ingress/store';
import {
  aContainerDefinition,
  aPortMapping,
  aTask,
  aTaskDefinition,
  snapshotEvent,
  T0,
  taskArn,
  taskDefinitionEvent,
  taskEvent,
} from '@ecs-ingress/testkit';
import type { ClusterEvent, TaskSnapshot } from '@ecs-ingress/types';
import { silentLogger } from '@ecs-ingress/types';
import { createRoutesRenderer } from '../src/routes/routes-renderer.js';
import { createStateRender, type RuntimeDerivation } from '../src/runtime/render-config.js';
import { addSharedRouteLabels, P } from './route-labels.js';

const SERVICES = 1_000;
const TASKS_PER_SERVICE = 10;
const RUNS = 300;
const WARMUP = 30;
const CLUSTER = 'arn:aws:ecs:us-east-1:123456789012:cluster/bench';

function labelsOf(i: number, revision: number): Record<string, string> {
  const labels: Record<string, string> = {
    [`${P}http.hosts`]: `svc-${i}.apps.example.com`,
    [`${P}http.path`]: `/r${revision}`,
  };
  addSharedRouteLabels(labels, i);
  if (i % 3 === 0) {
    labels[`${P}http.api.timeout`] = '1h';
  }
  if (i % 10 === 1) {
    labels[`${P}http.admin.hosts`] = `admin-${i}.apps.example.com`;
    labels[`${P}http.admin.port`] = '9000';
  }
  if (i % 20 === 19) {
    labels[`${P}http.canary.hosts`] = `svc-${i - 1}.apps.example.com`;
    labels[`${P}http.canary.path`] = `/r1`;
    labels[`${P}http.canary.canary-weight`] = '10';
  }
  return labels;
}

function definition(i: number, revision: number) {
  return aTaskDefinition({
    taskDefinitionArn: `arn:aws:ecs:us-east-1:123456789012:task-definition/svc-${i}:${revision}`,
    family: `svc-${i}`,
    revision,
    containers: [
      aContainerDefinition({
        name: 'app',
        dockerLabels: labelsOf(i, revision),
        portMappings: [aPortMapping({ containerPort: 8080 }), aPortMapping({ containerPort: 9000 })],
      }),
    ],
  });
}

let serial = 0;
/** A RUNNING task of service `i` at a fresh loopback address. */
function task(i: number, revision: number, at: number): TaskSnapshot {
  serial += 1;
  return aTask({
    taskArn: taskArn(`t${serial}`),
    clusterArn: CLUSTER,
    taskDefinitionArn: `arn:aws:ecs:us-east-1:123456789012:task-definition/svc-${i}:${revision}`,
    group: `service:svc-${i}`,
    serviceName: `svc-${i}`,
    eniPrivateIpv4Address: `127.${1 + (serial >> 16)}.${(serial >> 8) & 255}.${serial & 255}`,
    containers: [],
    createdAt: at,
    observedAt: at,
    version: 3,
  });
}

const store = new ClusterStore();
const live: TaskSnapshot[][] = [];
const revisions: number[] = [];
{
  const events: ClusterEvent[] = [];
  const tasks: TaskSnapshot[] = [];
  for (let i = 0; i < SERVICES; i++) {
    events.push(taskDefinitionEvent(definition(i, 1)));
    revisions.push(1);
    const own = Array.from({ length: TASKS_PER_SERVICE }, () => task(i, 1, T0));
    live.push(own);
    tasks.push(...own);
  }
  events.push(
    snapshotEvent({ clusterArn: CLUSTER, startedAt: T0, tasks, services: live.map((_, i) => `svc-${i}`) }),
  );
  store.dispatchBatch(events);
}

/** Milliseconds of the current run's derive and routes render (the rest is the upstreams file). */
const split = { derive: 0, routes: 0 };

function timed<A, R>(key: keyof typeof split, fn: (arg: A) => R): (arg: A) => R {
  return (arg) => {
    const start = process.hrtime.bigint();
    const result = fn(arg);
    split[key] += Number(process.hrtime.bigint() - start) / 1e6;
    return result;
  };
}

function renderer() {
  const deriver = createUpstreamDeriver();
  const routes = createRoutesRenderer({
    httpFile: '/app/nginx/routes.http.conf',
    streamFile: '/app/nginx/routes.stream.conf',
    settings: { tcpPorts: [] },
    render: { bundleDir: '/app/nginx/current' },
  });
  return createStateRender<ReturnType<typeof store.snapshot>>({
    derive: timed('derive', (state) => deriver(state) as RuntimeDerivation),
    upstreamsPath: '/app/nginx/upstreams.conf',
    routes: { ...routes, render: timed('routes', routes.render) },
    logger: silentLogger,
  });
}

let clock = T0;
/** Stops one task of service `i` and starts its replacement (of `revision`). */
function replaceTask(i: number, revision: number): ClusterEvent[] {
  clock += 1000;
  const own = live[i] as TaskSnapshot[];
  const old = own.shift() as TaskSnapshot;
  const next = task(i, revision, clock);
  own.push(next);
  return [
    taskEvent({ ...old, lastStatus: 'STOPPED', desiredStatus: 'STOPPED', version: 5, observedAt: clock }),
    taskEvent(next),
  ];
}

interface Timed {
  readonly total: number[];
  readonly derive: number[];
  readonly routes: number[];
  readonly rest: number[];
}

function time(render: ReturnType<typeof renderer>, change: (run: number) => void): Timed {
  const t: Timed = { total: [], derive: [], routes: [], rest: [] };
  for (let run = 0; run < WARMUP + RUNS; run++) {
    change(run);
    const state = store.snapshot();
    split.derive = 0;
    split.routes = 0;
    const start = process.hrtime.bigint();
    render(state);
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    if (run < WARMUP) continue;
    t.total.push(ms);
    t.derive.push(split.derive);
    t.routes.push(split.routes);
    t.rest.push(ms - split.derive - split.routes);
  }
  for (const list of Object.values(t)) list.sort((a: number, b: number) => a - b);
  return t;
}

/** The machine's speed now: `JSON.parse` alone of 2,000 task events, µs per text. */
const eventTexts = Array.from({ length: 2_000 }, (_, i) =>
  JSON.stringify(taskEvent(task(i % SERVICES, 1, T0))),
);
function calibrate(): number {
  const start = process.hrtime.bigint();
  for (const text of eventTexts) JSON.parse(text);
  return Number(process.hrtime.bigint() - start) / 1e3 / eventTexts.length;
}

const q = (sorted: readonly number[], p: number) =>
  (sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] ?? 0).toFixed(2);
const line = (name: string, t: readonly number[]) =>
  `${name.padEnd(44)} p50 ${q(t, 0.5).padStart(7)}  p99 ${q(t, 0.99).padStart(7)}  max ${q(t, 1).padStart(7)} ms`;

const render = renderer();
const first = render(store.snapshot());
const meta = first.meta as { routes?: { table: { reports: { state: string }[]; hosts: unknown[] } } };
const states: Record<string, number> = {};
for (const r of meta.routes?.table.reports ?? []) states[r.state] = (states[r.state] ?? 0) + 1;
const size = first.files.reduce((n, f) => n + f.content.length, 0);

calibrate(); // the first call warms up
const speedBefore = calibrate();
const taskChange = time(render, (run) =>
  store.dispatchBatch(replaceTask((run * 37) % SERVICES, revisions[(run * 37) % SERVICES] as number)),
);
const deploy = time(render, (run) => {
  const i = (run * 53) % SERVICES;
  const revision = (revisions[i] as number) + 1;
  revisions[i] = revision;
  const events: ClusterEvent[] = [taskDefinitionEvent(definition(i, revision))];
  for (let k = 0; k < TASKS_PER_SERVICE; k++) events.push(...replaceTask(i, revision));
  store.dispatchBatch(events);
});
const cold: number[] = [];
for (let run = 0; run < 20; run++) {
  const fresh = renderer();
  const start = process.hrtime.bigint();
  fresh(store.snapshot());
  cold.push(Number(process.hrtime.bigint() - start) / 1e6);
}
cold.sort((a, b) => a - b);
const speedAfter = calibrate();

console.log(
  `routes wired: ${SERVICES} services, ${SERVICES * TASKS_PER_SERVICE} tasks, ${meta.routes?.table.reports.length} routes ${JSON.stringify(states)}, ${meta.routes?.table.hosts.length} hosts, ${(size / 1024).toFixed(0)} KB of files`,
);
const parts = (t: Timed) =>
  `    of which derive p50 ${q(t.derive, 0.5)} / p99 ${q(t.derive, 0.99)}, routes p50 ${q(t.routes, 0.5)} / p99 ${q(t.routes, 0.99)}, the rest p50 ${q(t.rest, 0.5)} / p99 ${q(t.rest, 0.99)} ms`;
console.log(line('task change (endpoints only), render + hash', taskChange.total));
console.log(parts(taskChange));
console.log(line('deploy of one service (labels changed)', deploy.total));
console.log(parts(deploy));
console.log(line('cold (fresh memos), 20 runs', cold));
console.log(
  `JSON.parse alone of 2,000 task events just before / after: ${speedBefore.toFixed(2)} / ${speedAfter.toFixed(2)} µs/event`,
);
console.log('target: derive + resolve + render with routes, 1,000 services / 10,000 tasks, p99 <= 20 ms');
console.log(
  `machine: ${cpus().length} cpus, load ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}, node ${process.version}`,
);
