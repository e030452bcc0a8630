/**
 * AWS API calls of a deployment learned from events alone: every one of 100 services rolls to a
 * new task-definition revision (10 tasks each, start new then stop old), and the daemon's sources
 * fetch on demand what the new tasks need. Expected: one DescribeTaskDefinition per new revision,
 * nothing per task, no listing.
 *
 *   node --conditions=source --import tsx packages/controller/bench/deploy-api-calls.bench.ts
 *
 * The daemon's own parts in one process: a real store, the poller (one full sync at start), the
 * shared reference resolver and the on-demand reference watcher, on the real SDK against the
 * wire-level fake, which counts calls as they arrive. Events go in as SQS would hand them over
 * (10 a receive, parsed from their JSON bodies). Durations are those of the local fake, not of AWS.
 */
import { EC2Client } from '@aws-sdk/client-ec2';
import { ECSClient, type Task } from '@aws-sdk/client-ecs';
import { EcsPoller, ReferenceWatcher } from '@ecs-ingress/sources';
import type { ClusterState } from '@ecs-ingress/store';
import { ClusterStore, deriveUpstreams } from '@ecs-ingress/store';
import {
  buildBridgeTask,
  buildTaskDefinition,
  containerInstanceArnFor,
  startAwsFake,
} from '@ecs-ingress/testkit/aws';
import { taskChangeBody } from '@ecs-ingress/testkit/e2e';
import { parseEventBody } from '@ecs-ingress/types';

const SERVICES = 100;
const TASKS_PER_SERVICE = 10;
const INSTANCES = 20;
const RECEIVE = 10;

const fake = await startAwsFake();
const cluster = 'deploy';
fake.ecs.addCluster(cluster);
const revision = (s: number, n: number) =>
  fake.ecs.putTaskDefinition(
    buildTaskDefinition({
      family: `svc-${s}`,
      revision: n,
      networkMode: 'bridge',
      containers: [{ name: 'app', containerPort: 8080 }],
    }),
  ).taskDefinitionArn!;
const cis: string[] = [];
for (let i = 0; i < INSTANCES; i++) {
  const ec2Id = `i-${(0xa000 + i).toString(16)}`;
  fake.ec2.putInstance(ec2Id, `127.0.1.${10 + i}`);
  cis.push(
    fake.ecs.putContainerInstance(containerInstanceArnFor(cluster, `ci-${i}`), ec2Id).containerInstanceArn!,
  );
}
let port = 32768;
const place = (s: number, td: string, k: number): Task =>
  fake.ecs.putTask(
    buildBridgeTask({
      cluster,
      service: `svc-${s}`,
      taskDefinitionArn: td,
      containerInstanceArn: cis[(s * TASKS_PER_SERVICE + k) % INSTANCES]!,
      containerPort: 8080,
      hostPort: port++,
    }),
  );
const old: Task[][] = [];
for (let s = 0; s < SERVICES; s++) {
  fake.ecs.putService(`svc-${s}`, { cluster });
  const td = revision(s, 1);
  old.push(Array.from({ length: TASKS_PER_SERVICE }, (_, k) => place(s, td, k)));
}

const ecs = new ECSClient({ ...fake.clientConfig(), maxAttempts: 3 });
const ec2 = new EC2Client({ ...fake.clientConfig(), maxAttempts: 3 });
const store = new ClusterStore();
const derive = (state: ClusterState) => deriveUpstreams(state, { clusterArn: cluster });
const poller = new EcsPoller({
  ecs,
  ec2: async () => ec2,
  cluster,
  sink: store,
  isKnownTaskDefinition: (arn) => store.snapshot().taskDefinitions.has(arn),
  isKnownContainerInstance: (arn) => store.snapshot().containerInstances.has(arn),
});
const rounds: Record<string, number>[] = [];
const watcher = new ReferenceWatcher<ClusterState>({
  state$: store.state$,
  missing: derive,
  references: poller.references,
  onCalls: (calls) => rounds.push({ ...calls }),
});
await poller.fullSync();
watcher.start();
const servers = () => derive(store.snapshot()).upstreams.reduce((n, u) => n + u.servers.length, 0);
if (servers() !== SERVICES * TASKS_PER_SERVICE) throw new Error(`start: ${servers()} servers`);

// The deployment: new revisions registered, then per service start 10 new tasks, stop the 10 old.
fake.resetCalls();
const started = performance.now();
const bodies: string[] = [];
const fresh: Task[] = [];
for (let s = 0; s < SERVICES; s++) {
  const td = revision(s, 2);
  for (let k = 0; k < TASKS_PER_SERVICE; k++) {
    const task = place(s, td, k);
    fresh.push(task);
    bodies.push(taskChangeBody(task));
  }
  for (const task of old[s]!) {
    bodies.push(taskChangeBody(fake.ecs.updateTask(task.taskArn!, { desiredStatus: 'STOPPED' })));
    bodies.push(taskChangeBody(fake.ecs.updateTask(task.taskArn!, { lastStatus: 'STOPPED' })));
  }
}
for (let i = 0; i < bodies.length; i += RECEIVE) {
  for (const body of bodies.slice(i, i + RECEIVE))
    for (const event of parseEventBody(body).events) store.dispatch(event);
  // One SQS receive after another: the sources' timers and callbacks run in between.
  await new Promise((r) => setImmediate(r));
}
const newArns = new Set(fresh.map((t) => t.taskArn!));
const routedNew = () =>
  derive(store.snapshot()).upstreams.reduce(
    (n, u) => n + u.servers.filter((e) => newArns.has(e.taskArn)).length,
    0,
  );
for (let i = 0; i < 1_000 && (routedNew() < fresh.length || servers() !== fresh.length); i++) {
  await new Promise((r) => setTimeout(r, 10));
}
const ms = Math.round(performance.now() - started);
const counts = fake.callCounts();
await watcher.stop();
ecs.destroy();
ec2.destroy();
await fake.close();
if (routedNew() !== fresh.length || servers() !== fresh.length) {
  throw new Error(
    `after the deploy: ${routedNew()} of ${fresh.length} new tasks route, ${servers()} servers`,
  );
}

const total = Object.values(counts).reduce((a, b) => a + b, 0);
console.log(
  `Deploy: ${SERVICES} services × ${TASKS_PER_SERVICE} bridge tasks to a new revision each, events only ` +
    `(${bodies.length} events, ${RECEIVE} a receive), ${INSTANCES} known container instances\n`,
);
console.log(`${'operation'.padEnd(32)}${'calls'.padStart(8)}`);
for (const [op, n] of Object.entries(counts).sort()) console.log(`${op.padEnd(32)}${String(n).padStart(8)}`);
console.log(`${'total'.padEnd(32)}${String(total).padStart(8)}`);
console.log(
  `\nper new revision: ${((counts['ecs:DescribeTaskDefinition'] ?? 0) / SERVICES).toFixed(2)} DescribeTaskDefinition; ` +
    `per task: ${((total - (counts['ecs:DescribeTaskDefinition'] ?? 0)) / fresh.length).toFixed(2)} calls; ` +
    `on-demand lookup rounds: ${rounds.length}; all ${fresh.length} new tasks routing after ${ms} ms (local fake)`,
);
