/**
 * ECS/EC2 calls of a fleet, per host (every daemon lists) against one shared listing (issue 17).
 *
 *   node --conditions=source --import tsx packages/sources/bench/fleet-api-calls.bench.ts
 *   (or `pnpm bench` in packages/sources: this one, then fleet-sim.bench.ts)
 *
 * Per cluster size, against the wire-level ECS/EC2 fake and the S3 fake on 127.0.0.1 (real SDK
 * clients, calls counted as they arrive):
 * - one daemon alone: its first sync and a later one (the per-host figures; a fleet of N pays N×);
 * - a fleet of FLEET daemons sharing ECS_INGRESS_SHARED_S3_URI (real poller, store, lease,
 *   supervisor): the whole fleet's calls for its start (cold bucket), for one sync period, and for
 *   a restart of every daemon (warm bucket: task definitions are in S3).
 * The shared figures do not grow with the fleet (followers make no ECS call), so they hold for 300.
 */
import { EC2Client } from '@aws-sdk/client-ec2';
import { ECSClient } from '@aws-sdk/client-ecs';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { ClusterStore } from '@ecs-ingress/store';
import { type AwsFake, startAwsFake, startS3Fake } from '@ecs-ingress/testkit/aws';
import { EcsPoller } from '../src/ecs-poller.js';
import { type SimDaemon, seedBridgeCluster, startSimDaemon } from '../test/fleet-sim.js';

const FLEET = 5;
const PER_HOST_FLEET = 300;
const SIZES = [
  { tasks: 1_000, services: 100 },
  { tasks: 10_000, services: 1_000 },
];
const TIMING = { syncIntervalMs: 8_000, renewIntervalMs: 250, leaseMs: 1_500, maxSnapshotAgeMs: 120_000 };

const ecsCalls = (aws: AwsFake) =>
  Object.entries(aws.callCounts())
    .filter(([k]) => k.startsWith('ecs:') || k.startsWith('ec2:'))
    .reduce((n, [, v]) => n + v, 0);

async function waitFor(ok: () => boolean, timeoutMs: number): Promise<void> {
  const start = Date.now();
  while (!ok()) {
    if (Date.now() - start > timeoutMs) throw new Error('bench: timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

const rows: string[] = [];
for (const size of SIZES) {
  const aws = await startAwsFake();
  const s3 = await startS3Fake();
  const cluster = 'bench';
  seedBridgeCluster(aws, { cluster, ...size, instances: 20 });

  // One daemon alone.
  const ecs = new ECSClient({ ...aws.clientConfig() });
  const ec2 = new EC2Client({ ...aws.clientConfig() });
  const poller = new EcsPoller({ ecs, ec2: async () => ec2, cluster, sink: new ClusterStore() });
  const first = (await poller.fullSync()).totalCalls;
  const later = (await poller.fullSync()).totalCalls;
  ecs.destroy();
  ec2.destroy();

  // A fleet sharing one bucket.
  const admin = new S3Client({ ...s3.clientConfig(), maxAttempts: 1 });
  await admin.send(new CreateBucketCommand({ Bucket: 'shared' }));
  admin.destroy();
  const start = (): SimDaemon[] =>
    Array.from({ length: FLEET }, (_, i) =>
      startSimDaemon({
        id: `i-${i}`,
        aws,
        s3,
        location: { bucket: 'shared', prefix: 'bench/' },
        cluster,
        timing: TIMING,
      }),
    );
  aws.resetCalls();
  let fleet = start();
  await Promise.all(fleet.map((d) => d.supervisor.firstSync));
  const fleetStart = ecsCalls(aws);
  const lister = fleet.find((d) => d.fleet.status().role === 'lister') as SimDaemon;
  const published = () => lister.fleet.status().snapshot?.startedAt ?? 0;
  const before = published();
  await waitFor(() => published() > before, 3 * TIMING.syncIntervalMs);
  aws.resetCalls();
  const after = published();
  await waitFor(() => published() > after, 3 * TIMING.syncIntervalMs);
  const period = ecsCalls(aws);
  const ownListings = fleet.reduce((n, d) => n + (d === lister ? 0 : d.ownListings.length), 0);
  await Promise.all(fleet.map((d) => d.stop()));
  aws.resetCalls();
  fleet = start();
  await Promise.all(fleet.map((d) => d.supervisor.firstSync));
  const restart = ecsCalls(aws);
  const describedOnRestart = aws.calls('ecs', 'DescribeTaskDefinition');
  await Promise.all(fleet.map((d) => d.stop()));
  await s3.close();
  await aws.close();

  const label = `${size.tasks.toLocaleString('en-US')} tasks / ${size.services.toLocaleString('en-US')} services`;
  rows.push(
    `| ${label} | ${first} | ${later} | ${(later * PER_HOST_FLEET).toLocaleString('en-US')} | ${(first * PER_HOST_FLEET).toLocaleString('en-US')} | ${fleetStart} | ${period} | ${restart} (${describedOnRestart} DescribeTaskDefinition) | ${ownListings} |`,
  );
  console.error(`done: ${label}`);
}

console.log(
  `| cluster | one daemon: first sync | one daemon: each later sync | ${PER_HOST_FLEET} daemons per host: per sync period | ${PER_HOST_FLEET} daemons per host: restart | shared (${FLEET} daemons): start, cold bucket | shared: per sync period | shared: restart, warm bucket | followers' own listings |`,
);
console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const r of rows) console.log(r);
