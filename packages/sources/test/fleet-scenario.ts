/**
 * The fleet scenario of issue 17, shared by the suite's simulation (which asserts on its figures)
 * and the 10,000-task benchmark (which prints them): DAEMONS daemons (real poller, store, shared
 * cache, lease and supervisor; no NGINX, no queue, so each is in polling mode) against the
 * wire-level ECS/EC2 fake and the S3 fake on loopback. Every wait is a bounded poll of a condition.
 *
 * Steps: start (one lister, everyone routed from its listing) → one steady sync period (account-wide
 * ECS calls vs one daemon's) → a restart of every daemon (task definitions from S3) → the lister
 * killed (a change right after; takeover time vs lease time) → S3 down (each syncs by itself).
 */
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { getTask, taskCount as storeTaskCount } from '@ecs-ingress/store';
import { type AwsFake, type S3Fake, startAwsFake, startS3Fake } from '@ecs-ingress/testkit/aws';
import { LEASE_OBJECT, parseLeaseRecord } from '../src/fleet/lease.js';
import {
  addBridgeTask,
  type SeededCluster,
  type SimDaemon,
  type SimTiming,
  seedBridgeCluster,
  startSimDaemon,
} from './fleet-sim.js';

export interface ScenarioOptions {
  readonly tasks: number;
  readonly services: number;
  readonly daemons: number;
  readonly timing: SimTiming;
  /** Bound of each wait for the whole fleet to hold a listing (decode + merge on one event loop). */
  readonly mergeTimeoutMs: number;
}

export interface ScenarioFigures {
  readonly start: {
    /** Daemons that were the lister once all had synced (1 expected). */
    readonly listers: number;
    /** Tasks in each daemon's store. */
    readonly tasksPerDaemon: readonly number[];
    /** Daemons that listed the cluster themselves. */
    readonly selfListed: readonly string[];
    readonly describeTaskDefinition: number;
    readonly ms: number;
    /** Daemons that became the lister at some point (a handover follows a stall or a failed listing). */
    readonly everListers: readonly string[];
    /** Daemons whose fleet S3 calls failed (they sync by themselves meanwhile). */
    readonly s3Failed: readonly string[];
  };
  readonly period: {
    /** ECS + EC2 calls of the whole fleet from one published listing to the next. */
    readonly fleetCalls: number;
    /** What one daemon's steady sync costs (ListTasks and DescribeTasks 100 a call, ListServices 100 a page). */
    readonly oneDaemonCalls: number;
    /** ECS listings by any daemon during the period (1 expected: the lister's). */
    readonly listings: number;
    /** Failed S3 calls of the fleet during the period (0 expected). */
    readonly s3Errors: number;
    /** Lease handovers during the period (0 expected; a stall of this one process can cause one). */
    readonly handovers: number;
  };
  readonly restart: {
    readonly describeTaskDefinition: number;
    readonly taskDefinitionsPerDaemon: readonly number[];
    readonly ms: number;
  };
  readonly takeover: {
    readonly newListers: number;
    /** From the dead lister's last renewal to the new lister taking over, this host's clock. */
    readonly ms: number;
    readonly leaseMs: number;
    /** Time this process could not run timers meanwhile (event-loop stalls), which delays every lease step. */
    readonly stallMs: number;
    /** Per survivor: start of the listing carrying the change, minus the time of the change. */
    readonly listingLagMs: readonly number[];
  };
  readonly s3Down: {
    /** Survivors in the `standalone` role once each listed by itself. */
    readonly standalone: number;
    readonly survivors: number;
    /** Spread of the survivors' first own listings (jitter: not in lockstep). */
    readonly firstOwnSpreadMs: number;
  };
}

const CLUSTER = 'fleet';
const location = { bucket: 'shared', prefix: 'prod/' };

async function waitFor(what: string, ok: () => boolean, timeoutMs: number): Promise<number> {
  const start = Date.now();
  while (!ok()) {
    if (Date.now() - start > timeoutMs)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return Date.now();
}

/** Sums how late a 10 ms timer fires: the time this process's event loop was stalled. */
function stallMeter(): { stop(): number } {
  const tick = 10;
  let expected = performance.now() + tick;
  let stalled = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    stalled += Math.max(0, now - expected);
    expected = now + tick;
  }, tick);
  return {
    stop() {
      clearInterval(timer);
      return Math.round(stalled);
    },
  };
}

export async function runFleetScenario(o: ScenarioOptions): Promise<ScenarioFigures> {
  const aws: AwsFake = await startAwsFake();
  const s3: S3Fake = await startS3Fake();
  let daemons: SimDaemon[] = [];
  try {
    const admin = new S3Client({ ...s3.clientConfig(), maxAttempts: 1 });
    await admin.send(new CreateBucketCommand({ Bucket: location.bucket }));
    admin.destroy();
    const seeded: SeededCluster = seedBridgeCluster(aws, {
      cluster: CLUSTER,
      tasks: o.tasks,
      services: o.services,
      instances: 50,
    });
    const startFleet = () =>
      Array.from({ length: o.daemons }, (_, i) =>
        startSimDaemon({
          id: `i-${String(i).padStart(3, '0')}`,
          aws,
          s3,
          location,
          cluster: CLUSTER,
          timing: o.timing,
        }),
      );
    const ecsCalls = () =>
      Object.entries(aws.callCounts())
        .filter(([k]) => k.startsWith('ecs:') || k.startsWith('ec2:'))
        .reduce((n, [, v]) => n + v, 0);
    const lease = () =>
      parseLeaseRecord(
        s3.object(location.bucket, `${location.prefix}${LEASE_OBJECT}`)?.body ?? new Uint8Array(),
      );
    const allMerged = async (lister: SimDaemon) => {
      const latest = lister.fleet.status().snapshot?.startedAt ?? 0;
      await waitFor(
        'every daemon holding the latest listing',
        () => daemons.every((d) => (d.fleet.status().snapshot?.startedAt ?? 0) >= latest),
        o.mergeTimeoutMs,
      );
    };

    // ---- start-up --------------------------------------------------------------------------------
    let clock = Date.now();
    daemons = startFleet();
    await Promise.all(daemons.map((d) => d.supervisor.firstSync));
    const listers = daemons.filter((d) => d.fleet.status().role === 'lister');
    const start = {
      listers: listers.length,
      tasksPerDaemon: daemons.map((d) => storeTaskCount(d.store.snapshot())),
      selfListed: daemons.filter((d) => d.ownListings.length > 0).map((d) => d.id),
      describeTaskDefinition: aws.calls('ecs', 'DescribeTaskDefinition'),
      ms: Date.now() - clock,
      everListers: daemons.filter((d) => d.becameLister.length > 0).map((d) => d.id),
      s3Failed: daemons.filter((d) => d.s3Errors.length > 0).map((d) => d.id),
    };
    const lister = listers[0];
    if (lister === undefined) throw new Error('no lister after the first sync');

    // ---- one steady sync period ------------------------------------------------------------------
    const publishedAfter = async (after: number) => {
      await waitFor(
        'the lister’s next listing published',
        () => (lister.fleet.status().snapshot?.startedAt ?? 0) > after,
        3 * o.timing.syncIntervalMs + o.mergeTimeoutMs,
      );
      return lister.fleet.status().snapshot?.startedAt ?? 0;
    };
    // Counted from right after a listing was published (the next one starts a sync interval
    // later), not from the listing held now: the lister may be in the middle of the next one.
    const first = await publishedAfter(lister.fleet.status().snapshot?.startedAt ?? 0);
    const listingsBefore = daemons.reduce((n, d) => n + d.ownListings.length, 0);
    const s3ErrorsBefore = daemons.reduce((n, d) => n + d.s3Errors.length, 0);
    const handoversBefore = daemons.reduce((n, d) => n + d.becameLister.length, 0);
    aws.resetCalls();
    await publishedAfter(first);
    await allMerged(lister);
    const period = {
      fleetCalls: ecsCalls(),
      oneDaemonCalls: 2 * Math.ceil(o.tasks / 100) + Math.ceil(o.services / 100),
      listings: daemons.reduce((n, d) => n + d.ownListings.length, 0) - listingsBefore,
      s3Errors: daemons.reduce((n, d) => n + d.s3Errors.length, 0) - s3ErrorsBefore,
      handovers: daemons.reduce((n, d) => n + d.becameLister.length, 0) - handoversBefore,
    };

    // ---- fleet restart ---------------------------------------------------------------------------
    await Promise.all(daemons.map((d) => d.stop()));
    aws.resetCalls();
    clock = Date.now();
    daemons = startFleet();
    await Promise.all(daemons.map((d) => d.supervisor.firstSync));
    const restart = {
      describeTaskDefinition: aws.calls('ecs', 'DescribeTaskDefinition'),
      taskDefinitionsPerDaemon: daemons.map((d) => d.store.snapshot().taskDefinitions.size),
      ms: Date.now() - clock,
    };

    // ---- the lister dies, between two listings, once the fleet holds its last one --------------
    // The holder is read again after the wait: a stall of this one process (19 merges at once) can
    // hand the lease over meanwhile, and the figure is about killing the daemon that holds it.
    let dead: SimDaemon | undefined;
    for (let round = 0; round < 5 && (dead === undefined || lease()?.holder !== dead.id); round++) {
      dead = daemons.find((d) => d.id === lease()?.holder);
      if (dead !== undefined) await allMerged(dead);
    }
    if (dead === undefined || lease()?.holder !== dead.id) throw new Error('no stable lease holder to kill');
    await dead.stop();
    const record = lease();
    if (record?.holder !== dead.id)
      throw new Error(`the lease moved to ${record?.holder} while ${dead.id} stopped`);
    const lastRenewal = record.renewedAt;
    const stalls = stallMeter();
    const survivors = daemons.filter((d) => d !== dead);
    // A change ECS makes right after the death (no event: no queue in the simulation).
    const changedAt = Date.now();
    const newTask = addBridgeTask(aws, CLUSTER, seeded, o.tasks);
    await waitFor(
      'a new lister',
      () => survivors.some((d) => d.fleet.status().role === 'lister'),
      4 * o.timing.leaseMs + o.mergeTimeoutMs,
    );
    const stallMs = stalls.stop();
    const newListers = survivors.filter((d) => d.fleet.status().role === 'lister');
    const takenOverAt = newListers[0]?.fleet.status().listerSince ?? Number.NaN;
    await waitFor(
      'every survivor routing the new task',
      () => survivors.every((d) => getTask(d.store.snapshot(), newTask) !== undefined),
      3 * o.timing.syncIntervalMs + o.mergeTimeoutMs,
    );
    const takeover = {
      newListers: newListers.length,
      ms: takenOverAt - lastRenewal,
      leaseMs: o.timing.leaseMs,
      stallMs,
      listingLagMs: survivors.map((d) => (d.fleet.status().snapshot?.startedAt ?? 0) - changedAt),
    };

    // ---- S3 unreachable: every daemon syncs by itself, jittered ---------------------------------
    const own = new Map(survivors.map((d) => [d.id, d.ownListings.length]));
    s3.outage('unavailable');
    let s3Down: ScenarioFigures['s3Down'];
    try {
      await waitFor(
        'every daemon listing by itself',
        () => survivors.every((d) => d.ownListings.length > (own.get(d.id) ?? 0)),
        4 * o.timing.syncIntervalMs + o.mergeTimeoutMs,
      );
      const firstOwn = survivors.map((d) => d.ownListings[own.get(d.id) ?? 0] as number);
      s3Down = {
        standalone: survivors.filter((d) => d.fleet.status().role === 'standalone').length,
        survivors: survivors.length,
        firstOwnSpreadMs: Math.max(...firstOwn) - Math.min(...firstOwn),
      };
    } finally {
      s3.outage(undefined);
    }
    return { start, period, restart, takeover, s3Down };
  } finally {
    await Promise.all(daemons.map((d) => d.stop()));
    await s3.close();
    await aws.close();
  }
}
