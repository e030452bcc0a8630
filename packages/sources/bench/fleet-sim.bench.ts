/**
 * The suite's fleet simulation (test/fleet-scenario.ts) at the size: 20 daemons, 10,000
 * tasks over 1,000 services, one shared listing, against the wire-level ECS/EC2 fake and the S3
 * fake on 127.0.0.1 (real SDK clients; every daemon's poller, store, shared cache, lease and
 * supervisor, all in this one process).
 *
 *   pnpm --filter @ecs-ingress/sources bench:fleet-sim
 *   (= node --conditions=source --import tsx packages/sources/bench/fleet-sim.bench.ts)
 *
 * Intervals are longer than the suite's: each listing costs the 19 followers ~3.5 s of this one
 * event loop to decode and merge (gunzip + JSON.parse ~60 ms, the store's merge ~120 ms each), which
 * must fit well inside a sync period, and a stall that long must not look like a dead lister (the
 * lease's staleness threshold, lease − 3 renewals, is 6 s here). Separate processes, as deployed,
 * do not stall each other.
 */
import { runFleetScenario } from '../test/fleet-scenario.js';

const TASKS = Number(process.env.FLEET_SIM_TASKS ?? 10_000);
const SERVICES = Number(process.env.FLEET_SIM_SERVICES ?? 1_000);
const DAEMONS = 20;
const TIMING = { syncIntervalMs: 20_000, renewIntervalMs: 2_000, leaseMs: 12_000, maxSnapshotAgeMs: 60_000 };

const clock = performance.now();
const f = await runFleetScenario({
  tasks: TASKS,
  services: SERVICES,
  daemons: DAEMONS,
  timing: TIMING,
  mergeTimeoutMs: 60_000,
});
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const rows: [string, string, string][] = [
  ['listers after start-up', String(f.start.listers), '1'],
  [
    'daemons routing every task after start-up',
    `${f.start.tasksPerDaemon.filter((n) => n === TASKS).length} of ${DAEMONS}`,
    `${DAEMONS} of ${DAEMONS}`,
  ],
  [
    'DescribeTaskDefinition, cold start of the fleet',
    String(f.start.describeTaskDefinition),
    `${SERVICES} (one per revision)`,
  ],
  ['fleet start-up, first sync of every daemon', seconds(f.start.ms), '—'],
  [
    'ECS+EC2 calls per sync period, whole fleet',
    String(f.period.fleetCalls),
    `≤ 1.1 × one daemon’s (${f.period.oneDaemonCalls})`,
  ],
  ['ratio fleet / one daemon', (f.period.fleetCalls / f.period.oneDaemonCalls).toFixed(2), '≤ 1.10'],
  ['ECS listings in the period, whole fleet', String(f.period.listings), '1 (the lister’s)'],
  ['failed S3 calls of the fleet in the period', String(f.period.s3Errors), '0'],
  ['lease handovers in the period', String(f.period.handovers), '0'],
  ['DescribeTaskDefinition, fleet restart (warm bucket)', String(f.restart.describeTaskDefinition), '0'],
  ['fleet restart, first sync of every daemon', seconds(f.restart.ms), '—'],
  ['lister killed: new listers', String(f.takeover.newListers), '1'],
  [
    'lister killed: takeover after its last renewal',
    seconds(f.takeover.ms),
    `≤ lease time ${seconds(f.takeover.leaseMs)}`,
  ],
  ['event-loop stall meanwhile (this process)', seconds(f.takeover.stallMs), '—'],
  [
    'change at the death → start of the listing carrying it (max)',
    seconds(Math.max(...f.takeover.listingLagMs)),
    `≤ sync interval ${seconds(TIMING.syncIntervalMs)}`,
  ],
  ['S3 down: survivors syncing by themselves', `${f.s3Down.standalone} of ${f.s3Down.survivors}`, 'all'],
  [
    'S3 down: spread of their first own listings (jitter)',
    seconds(f.s3Down.firstOwnSpreadMs),
    '> 0, not in lockstep',
  ],
];
console.log(
  `fleet simulation: ${DAEMONS} daemons, ${TASKS.toLocaleString('en-US')} tasks / ${SERVICES.toLocaleString('en-US')} services; sync ${seconds(TIMING.syncIntervalMs)}, renewal ${seconds(TIMING.renewIntervalMs)}, lease ${seconds(TIMING.leaseMs)}; ran ${seconds(performance.now() - clock)}`,
);
console.log('| figure | measured | target |');
console.log('|---|---:|---|');
for (const [a, b, c] of rows) console.log(`| ${a} | ${b} | ${c} |`);
