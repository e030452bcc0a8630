/**
 * AWS API calls per full sync, ecs-ingress's poller against the Go ancestor's algorithm, for a
 * cluster of 1,000 bridge tasks / 100 services / 20 container instances (the figure).
 *
 *   node --conditions=source --import tsx packages/controller/bench/api-calls.bench.ts
 *
 * The cluster lives in the wire-level fake (real SDK clients, real HTTP on 127.0.0.1); calls are
 * counted by the fake as they arrive. Durations are those of the local fake, not of AWS.
 */
import { EC2Client } from '@aws-sdk/client-ec2';
import { ECSClient } from '@aws-sdk/client-ecs';
import { EcsPoller, type SyncReport } from '@ecs-ingress/sources';
import {
  buildBridgeTask,
  buildTaskDefinition,
  containerInstanceArnFor,
  startAwsFake,
} from '@ecs-ingress/testkit/aws';
import type { ClusterEvent } from '@ecs-ingress/types';

const TASKS = 1_000;
const SERVICES = 100;
const INSTANCES = 20;
/** The ancestor's cycle, on every host. */
const ANCESTOR_CYCLE_S = 10;
/** Our defaults: resync every 5 min while events flow; poll every 10 s without a queue. */
const RESYNC_S = 300;
const POLL_S = 10;
/** An idle SQS long poll returns after 20 s (WaitTimeSeconds maximum): 1 ReceiveMessage per 20 s. */
const SQS_LONG_POLL_S = 20;

const fake = await startAwsFake();
const cluster = 'bench';
fake.ecs.addCluster(cluster);
const tds: string[] = [];
for (let s = 0; s < SERVICES; s++) {
  const td = fake.ecs.putTaskDefinition(
    buildTaskDefinition({
      family: `svc-${s}`,
      networkMode: 'bridge',
      containers: [{ name: 'app', containerPort: 8080 }],
    }),
  );
  tds.push(td.taskDefinitionArn!);
  fake.ecs.putService(`svc-${s}`, { cluster });
}
const cis: string[] = [];
for (let i = 0; i < INSTANCES; i++) {
  const ec2Id = `i-${(0xa000 + i).toString(16)}`;
  fake.ec2.putInstance(ec2Id, `192.0.2.${10 + i}`);
  cis.push(
    fake.ecs.putContainerInstance(containerInstanceArnFor(cluster, `ci-${i}`), ec2Id).containerInstanceArn!,
  );
}
for (let t = 0; t < TASKS; t++) {
  fake.ecs.putTask(
    buildBridgeTask({
      cluster,
      service: `svc-${t % SERVICES}`,
      taskDefinitionArn: tds[t % SERVICES]!,
      containerInstanceArn: cis[t % INSTANCES]!,
      hostPort: 32768 + t,
    }),
  );
}

const ecs = new ECSClient({ ...fake.clientConfig(), maxAttempts: 3 });
const ec2 = new EC2Client({ ...fake.clientConfig(), maxAttempts: 3 });
let snapshotTasks = 0;
const sink = {
  dispatch(event: ClusterEvent) {
    if (event.kind === 'snapshot') snapshotTasks = event.tasks.length;
    return 'applied' as const;
  },
};
const poller = new EcsPoller({ ecs, ec2: async () => ec2, cluster, sink });

async function measured(): Promise<{ counts: Record<string, number>; report: SyncReport }> {
  fake.resetCalls();
  const report = await poller.fullSync();
  return { counts: fake.callCounts(), report };
}

const first = await measured();
const second = await measured();
ecs.destroy();
ec2.destroy();
await fake.close();
if (snapshotTasks !== TASKS) throw new Error(`snapshot had ${snapshotTasks} tasks, expected ${TASKS}`);

const total = (c: Record<string, number>) => Object.values(c).reduce((a, b) => a + b, 0);
const operations = [
  'ecs:DescribeClusters',
  'ecs:ListServices',
  'ecs:ListTasks',
  'ecs:DescribeTasks',
  'ecs:DescribeTaskDefinition',
  'ecs:DescribeContainerInstances',
  'ec2:DescribeInstances',
];
// The ancestor: ListServices, then per service ListTasks, then per task DescribeTasks and
// DescribeContainerInstances, and EC2 DescribeInstances once per instance.
const ancestor: Record<string, number> = {
  'ecs:DescribeClusters': 0,
  'ecs:ListServices': 1,
  'ecs:ListTasks': SERVICES,
  'ecs:DescribeTasks': TASKS,
  'ecs:DescribeTaskDefinition': 0,
  'ecs:DescribeContainerInstances': TASKS,
  'ec2:DescribeInstances': INSTANCES,
};

const pad = (s: string | number, n: number) => String(s).padStart(n);
console.log(`Cluster: ${TASKS} bridge tasks, ${SERVICES} services, ${INSTANCES} container instances\n`);
console.log(
  `${'operation'.padEnd(32)}${pad('ancestor/cycle', 16)}${pad('1st sync', 10)}${pad('2nd sync', 10)}`,
);
for (const op of operations) {
  console.log(
    `${op.padEnd(32)}${pad(ancestor[op] ?? 0, 16)}${pad(first.counts[op] ?? 0, 10)}${pad(second.counts[op] ?? 0, 10)}`,
  );
}
const ancestorTotal = total(ancestor);
console.log(
  `${'total'.padEnd(32)}${pad(ancestorTotal, 16)}${pad(total(first.counts), 10)}${pad(total(second.counts), 10)}`,
);
console.log(
  `${'duration against the fake (ms)'.padEnd(32)}${pad('-', 16)}${pad(first.report.durationMs, 10)}${pad(second.report.durationMs, 10)}`,
);

const steady = total(second.counts);
const rows: [string, string][] = [
  [
    `ancestor, every ${ANCESTOR_CYCLE_S} s`,
    `${(ancestorTotal / ANCESTOR_CYCLE_S).toFixed(1)} calls/s per host`,
  ],
  [`ecs-ingress polling, every ${POLL_S} s`, `${(steady / POLL_S).toFixed(2)} calls/s per host`],
  [
    `ecs-ingress events, resync ${RESYNC_S} s`,
    `${(steady / RESYNC_S).toFixed(3)} ECS+EC2 calls/s per host (target ≤ 0.1)`,
  ],
  ['  + idle SQS long poll', `${(1 / SQS_LONG_POLL_S).toFixed(3)} ReceiveMessage/s per host`],
];
console.log('\nSteady state (each host):');
for (const [k, v] of rows) console.log(`  ${k.padEnd(36)}${v}`);
console.log(
  `\nAncestor formula 1 + S + 2T + I = ${1 + SERVICES + 2 * TASKS + INSTANCES} calls per ${ANCESTOR_CYCLE_S} s cycle.`,
);
