/**
 * The fleet simulation of issue 17: 20 daemons (real poller, store, shared cache, lease and
 * supervisor; no NGINX, no queue, so every daemon is in polling mode) against the wire-level
 * ECS/EC2 fake and the S3 fake on loopback, with a 10,000-task / 1,000-service cluster.
 * Intervals are short; every wait is a bounded poll of a condition.
 */
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mapHas } from '../../store/persistent-map.js';
import { type AwsFake, type S3Fake, startAwsFake, startS3Fake } from '../../test-support/aws-fake/index.js';
import {
  addBridgeTask,
  type SeededCluster,
  type SimDaemon,
  seedBridgeCluster,
  startSimDaemon,
} from '../../test-support/fleet-sim.js';
import { LEASE_OBJECT, parseLeaseRecord } from './lease.js';

const CLUSTER = 'fleet';
const TASKS = Number(process.env.SIM_TASKS ?? 10_000);
const SERVICES = Number(process.env.SIM_SERVICES ?? 250);
const DAEMONS = Number(process.env.SIM_DAEMONS ?? 20);
const TIMING = {
  syncIntervalMs: 4_000,
  renewIntervalMs: 120,
  leaseMs: 1_200,
  maxSnapshotAgeMs: 20_000,
} as const;
const location = { bucket: 'shared', prefix: 'prod/' };

let aws: AwsFake;
let s3: S3Fake;
let seeded: SeededCluster;
let daemons: SimDaemon[] = [];

async function waitFor(what: string, ok: () => boolean, timeoutMs: number): Promise<number> {
  const start = Date.now();
  while (!ok()) {
    if (Date.now() - start > timeoutMs)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return Date.now();
}

function startFleet(): SimDaemon[] {
  return Array.from({ length: DAEMONS }, (_, i) =>
    startSimDaemon({
      id: `i-${String(i).padStart(3, '0')}`,
      aws,
      s3,
      location,
      cluster: CLUSTER,
      timing: TIMING,
    }),
  );
}

const ecsCalls = () =>
  Object.entries(aws.callCounts())
    .filter(([k]) => k.startsWith('ecs:') || k.startsWith('ec2:'))
    .reduce((n, [, v]) => n + v, 0);

function lease() {
  return parseLeaseRecord(
    s3.object(location.bucket, `${location.prefix}${LEASE_OBJECT}`)?.body ?? new Uint8Array(),
  );
}

beforeAll(async () => {
  aws = await startAwsFake();
  s3 = await startS3Fake();
  const admin = new S3Client({ ...s3.clientConfig(), maxAttempts: 1 });
  await admin.send(new CreateBucketCommand({ Bucket: location.bucket }));
  admin.destroy();
  seeded = seedBridgeCluster(aws, { cluster: CLUSTER, tasks: TASKS, services: SERVICES, instances: 50 });
});
afterAll(async () => {
  await Promise.all(daemons.map((d) => d.stop()));
  await s3?.close();
  await aws?.close();
});

describe(`fleet simulation: ${DAEMONS} daemons, ${TASKS} tasks, one shared listing`, () => {
  it('one lister lists; the fleet costs one daemon’s ECS calls; a restart describes each revision once; a dead lister is replaced in time; S3 down → each syncs itself', async () => {
    console.log(new Date().toISOString(), aws.callCounts());
    // ---- start-up: one lister, everyone routed from its listing --------------------------------
    daemons = startFleet();
    await Promise.all(daemons.map((d) => d.supervisor.firstSync));
    const listers = daemons.filter((d) => d.fleet.status().role === 'lister');
    expect(listers).toHaveLength(1);
    const lister = listers[0] as SimDaemon;
    for (const d of daemons) expect(d.store.snapshot().tasks.size).toBe(TASKS);
    expect(daemons.filter((d) => d.ownListings.length > 0).map((d) => d.id)).toEqual([lister.id]);
    expect(aws.calls('ecs', 'DescribeTaskDefinition')).toBe(SERVICES);

    console.log(new Date().toISOString(), aws.callCounts());
    // ---- steady state: ECS calls per sync period, account-wide vs one daemon's ------------------
    const oneSync = (lister.ownListings.length, await lister.supervisor.firstSync).totalCalls;
    const listingsBefore = lister.ownListings.length;
    await waitFor(
      'the lister’s next listing',
      () => lister.ownListings.length > listingsBefore,
      3 * TIMING.syncIntervalMs,
    );
    aws.resetCalls();
    const periodStart = Date.now();
    await waitFor(
      'one more listing',
      () => lister.ownListings.length > listingsBefore + 1,
      3 * TIMING.syncIntervalMs,
    );
    // Let the followers merge it (and prove none lists by itself meanwhile).
    const latest = lister.fleet.status().snapshot?.startedAt ?? 0;
    await waitFor(
      'followers merged the listing',
      () => daemons.every((d) => (d.fleet.status().snapshot?.startedAt ?? 0) >= latest),
      2_000,
    );
    const period = ecsCalls();
    // oneSync of the first listing includes 1,000 DescribeTaskDefinition: compare with a later one.
    const steadyOne = 2 * Math.ceil(TASKS / 100) + Math.ceil(SERVICES / 100);
    expect(oneSync).toBeGreaterThanOrEqual(steadyOne);
    expect(period).toBeLessThanOrEqual(1.1 * steadyOne);
    expect(daemons.filter((d) => d !== lister).every((d) => d.ownListings.length === 0)).toBe(true);
    expect(Date.now() - periodStart).toBeGreaterThan(0);

    console.log(new Date().toISOString(), aws.callCounts());
    // ---- fleet restart: every daemon anew, nothing described again ------------------------------
    await Promise.all(daemons.map((d) => d.stop()));
    aws.resetCalls();
    daemons = startFleet();
    await Promise.all(daemons.map((d) => d.supervisor.firstSync));
    for (const d of daemons) expect(d.store.snapshot().taskDefinitions.size).toBe(SERVICES);
    expect(aws.calls('ecs', 'DescribeTaskDefinition')).toBe(0);

    console.log(new Date().toISOString(), aws.callCounts());
    // ---- the lister dies: another takes over within the lease time ------------------------------
    const before = lease();
    const dead = daemons.find((d) => d.id === before?.holder) as SimDaemon;
    expect(dead).toBeDefined();
    await dead.stop();
    const lastRenewal = lease()?.renewedAt ?? 0;
    const survivors = daemons.filter((d) => d !== dead);
    // A change ECS makes right after the death (no event: no queue in the simulation).
    const changedAt = Date.now();
    const newTask = addBridgeTask(aws, CLUSTER, seeded, TASKS);
    await waitFor(
      'a new lister',
      () => survivors.some((d) => d.fleet.status().role === 'lister'),
      4 * TIMING.leaseMs,
    );
    const newListers = survivors.filter((d) => d.fleet.status().role === 'lister');
    expect(newListers).toHaveLength(1);
    // Within one lease time of the dead lister's last renewal (both on this host's clock).
    expect((newListers[0]?.fleet.status().listerSince ?? 0) - lastRenewal).toBeLessThanOrEqual(
      TIMING.leaseMs,
    );
    const seenAt = await waitFor(
      'every survivor routing the new task',
      () => survivors.every((d) => mapHas(d.store.snapshot().tasks, newTask)),
      3 * TIMING.syncIntervalMs,
    );
    expect(seenAt - changedAt).toBeLessThanOrEqual(TIMING.syncIntervalMs);

    console.log(new Date().toISOString(), aws.callCounts());
    // ---- S3 unreachable: every daemon syncs by itself, jittered ---------------------------------
    const own = new Map(survivors.map((d) => [d.id, d.ownListings.length]));
    s3.outage('unavailable');
    try {
      await waitFor(
        'every daemon listing by itself',
        () => survivors.every((d) => d.ownListings.length > (own.get(d.id) ?? 0)),
        4 * TIMING.syncIntervalMs,
      );
    } finally {
      s3.outage(undefined);
    }
    for (const d of survivors) expect(d.fleet.status().role).toBe('standalone');
    const firstOwn = survivors.map((d) => d.ownListings[own.get(d.id) ?? 0] as number);
    // Jittered: the own listings do not start in lockstep.
    expect(Math.max(...firstOwn) - Math.min(...firstOwn)).toBeGreaterThan(50);
  });
});
