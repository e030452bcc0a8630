/**
 * An event storm through the store AND the reconciler's render, as the daemon runs it: how many
 * events per second the controller absorbs when every state change is followed by a derivation
 * and a render of the whole upstreams file (1,000 services, 10,000 tasks).
 *
 *   pnpm bench event-storm.bench.ts
 *
 * Events are `TaskObservedEvent`s (no JSON: store.bench.ts measures parsing), dispatched
 * synchronously in batches of 10 — one SQS receive — with the event loop turning between batches,
 * as it does between receives (the SQS source dispatches each event on its own: one immer `produce`
 * each). The reconciler is the real one with the runtime's render (the memoised deriver and
 * renderer, then the hash of the whole file) and the default debounce (200 ms / 2 s); its applier does nothing, so
 * only the controller's own work is measured. Figures: events/s, renders per event, ms per render.
 */
import { cpus, loadavg } from 'node:os';
import { createUpstreamsRenderer } from '@ecs-ingress/renderer';
import type { ClusterState } from '@ecs-ingress/store';
import { ClusterStore, createUpstreamDeriver } from '@ecs-ingress/store';
import { xorshift } from '@ecs-ingress/testkit';
import type { ClusterEvent, TaskSnapshot } from '@ecs-ingress/types';
import { Subject } from 'rxjs';
import { createReconciler } from '../src/reconciler/pipeline.js';
import type { RenderedConfig } from '../src/reconciler/types.js';

const SERVICES = 1_000;
const TASKS_PER_SERVICE = 10;
const STORM_EVENTS = 100_000;
const BATCH = 10;
const CLUSTER = 'arn:aws:ecs:us-east-1:111122223333:cluster/storm';
const T0 = Date.parse('2024-05-14T09:00:00.000Z');

const store = new ClusterStore();
for (let s = 0; s < SERVICES; s++) {
  const event: ClusterEvent = {
    kind: 'task-definition',
    observedAt: T0,
    taskDefinition: {
      taskDefinitionArn: `arn:aws:ecs:us-east-1:111122223333:task-definition/svc-${s}:1`,
      family: `svc-${s}`,
      revision: 1,
      networkMode: 'awsvpc',
      containers: [
        {
          name: 'app',
          portMappings: [{ containerPort: 8080, protocol: 'tcp' }],
          dockerLabels: {},
          hasHealthCheck: false,
        },
      ],
    },
  };
  store.dispatch(event);
}

let serial = 0;
let clock = T0 + 1_000;
function task(
  service: number,
  id: number,
  lastStatus: string,
  desiredStatus: string,
  version: number,
): ClusterEvent {
  clock += 1;
  const snapshot: TaskSnapshot = {
    taskArn: `arn:aws:ecs:us-east-1:111122223333:task/storm/${id.toString(16).padStart(32, '0')}`,
    clusterArn: CLUSTER,
    taskDefinitionArn: `arn:aws:ecs:us-east-1:111122223333:task-definition/svc-${service}:1`,
    group: `service:svc-${service}`,
    serviceName: `svc-${service}`,
    lastStatus,
    desiredStatus,
    version,
    launchType: 'FARGATE',
    eniPrivateIpv4Address: `10.${(id >>> 16) & 255}.${(id >>> 8) & 255}.${id & 255}`,
    containers: [{ name: 'app', lastStatus, networkBindings: [] }],
    observedAt: clock,
    updatedAt: clock,
    source: 'event',
  };
  return { kind: 'task', task: snapshot };
}

const live: { service: number; id: number }[] = [];
for (let s = 0; s < SERVICES; s++) {
  for (let i = 0; i < TASKS_PER_SERVICE; i++) {
    const id = serial++;
    live.push({ service: s, id });
    store.dispatch(task(s, id, 'RUNNING', 'RUNNING', 4));
  }
}

let renders = 0;
let lastUpstreams = 0;
let renderMs = 0;
const derive = createUpstreamDeriver();
const renderFile = createUpstreamsRenderer();
const render = (state: ClusterState): RenderedConfig => {
  const t0 = performance.now();
  const derived = derive(state);
  const result = renderFile(derived.upstreams);
  renderMs += performance.now() - t0;
  renders += 1;
  lastUpstreams = result.upstreamCount;
  return { hash: result.hash, files: [{ path: 'upstreams.conf', content: result.text }], meta: undefined };
};
const state$ = new Subject<ClusterState>();
const reconciler = createReconciler({
  state$,
  render,
  applier: { apply: async () => ({ ok: true, durationMs: 0 }) },
});
const subscription = store.state$.subscribe(state$); // the current state first: a cold render
await reconciler.flush();
const coldRenderMs = renderMs;
renders = 0;
renderMs = 0;

// The storm: a random task is replaced (old one STOPPED, new one RUNNING), 2 events per step.
const next = xorshift(0x2545f491);
const started = performance.now();
for (let done = 0; done < STORM_EVENTS; ) {
  for (let i = 0; i < BATCH / 2; i++, done += 2) {
    const slot = Math.floor(next() * live.length);
    const old = live[slot]!;
    const fresh = { service: old.service, id: serial++ };
    live[slot] = fresh;
    store.dispatch(task(old.service, old.id, 'STOPPED', 'STOPPED', 9));
    store.dispatch(task(fresh.service, fresh.id, 'RUNNING', 'RUNNING', 4));
  }
  await new Promise((resolve) => setImmediate(resolve)); // the next receive
}
await reconciler.flush(); // the last state rendered and applied: the storm is absorbed
const seconds = (performance.now() - started) / 1000;
const outcomes = store.counts();
subscription.unsubscribe();
await reconciler.stop();

const fmt = (n: number, digits = 1) => n.toFixed(digits);
process.stdout.write(
  [
    `event-storm.bench: ${SERVICES} services, ${SERVICES * TASKS_PER_SERVICE} tasks, ${STORM_EVENTS} events in synchronous batches of ${BATCH}`,
    `  machine: ${cpus().length} x ${cpus()[0]?.model ?? '?'}, node ${process.version}, load average ${loadavg()
      .map((n) => fmt(n, 2))
      .join(' ')}`,
    `  store outcomes: ${JSON.stringify(outcomes)}; upstreams in the last render: ${lastUpstreams}`,
    `  store + reconciler: ${fmt(STORM_EVENTS / seconds, 0)} events/s; ${renders} renders (${fmt(renders / STORM_EVENTS, 3)} per event), ${fmt(renders === 0 ? 0 : renderMs / renders, 2)} ms per render, ${fmt((renderMs / (seconds * 1000)) * 100, 0)} % of the time rendering; cold first render ${fmt(coldRenderMs, 0)} ms`,
    '',
  ].join('\n'),
);
