/**
 * The fleet's metrics (issue 17), adapted from the fleet and supervisor hooks; registered on the
 * daemon's registry. ECS calls by operation are `ecs_ingress_aws_api_calls_total` (metrics.ts).
 */

import type { FleetHooks, FleetRole, SupervisorHooks } from '@ecs-ingress/sources';
import { Counter, Gauge, type Registry } from 'prom-client';

export interface FleetMetrics {
  readonly lister: Gauge<'instance'>;
  readonly role: Gauge<'role'>;
  readonly snapshotStartedAt: Gauge;
  readonly sharedTaskDefinitions: Counter<'outcome'>;
  readonly snapshots: Counter<'direction'>;
  readonly s3Errors: Counter<'operation'>;
  readonly throttledSyncs: Counter;
  readonly throttleSlowdown: Gauge;
  /** Records the start time of the listing now held (the age gauge is computed at scrape time). */
  noteSnapshot(startedAt: number): void;
}

const ROLES: readonly (FleetRole | 'starting')[] = ['starting', 'lister', 'follower', 'standalone'];

/**
 * Creates the fleet metrics on `registry`. Every gauge has its value from the first scrape: the
 * role is `starting`, the slowdown 1; the snapshot age is computed at scrape time from the start
 * time of the listing last merged or written (0 until there is one).
 */
export function createFleetMetrics(registry: Registry, now: () => number = Date.now): FleetMetrics {
  const registers = [registry];
  let startedAt = 0;
  const role = new Gauge({
    name: 'ecs_ingress_fleet_role',
    help: 'This daemon’s role in the fleet (1 for the current one): starting, lister, follower, or standalone (S3 unreachable, own sync).',
    labelNames: ['role'],
    registers,
  });
  for (const r of ROLES) role.set({ role: r }, r === 'starting' ? 1 : 0);
  const slowdown = new Gauge({
    name: 'ecs_ingress_sync_throttle_slowdown',
    help: 'Factor throttling put on the sync intervals (1 = none, up to 8).',
    registers,
  });
  slowdown.set(1);
  return {
    lister: new Gauge({
      name: 'ecs_ingress_lister',
      help: 'The fleet’s lister as this daemon last saw it (1 on the holder’s instance label).',
      labelNames: ['instance'],
      registers,
    }),
    role,
    snapshotStartedAt: new Gauge({
      name: 'ecs_ingress_fleet_snapshot_age_seconds',
      help: 'Age of the shared cluster listing this daemon holds (from the listing’s start), seconds; 0 before the first one.',
      registers,
      collect() {
        this.set(startedAt === 0 ? 0 : Math.max(0, (now() - startedAt) / 1000));
      },
    }),
    sharedTaskDefinitions: new Counter({
      name: 'ecs_ingress_shared_task_definitions_total',
      help: 'Shared task-definition cache lookups and writes, by outcome (hit, miss, written, error).',
      labelNames: ['outcome'],
      registers,
    }),
    snapshots: new Counter({
      name: 'ecs_ingress_fleet_snapshots_total',
      help: 'Shared cluster listings written (lister), merged (follower) or unchanged (304 on the conditional GET).',
      labelNames: ['direction'],
      registers,
    }),
    s3Errors: new Counter({
      name: 'ecs_ingress_fleet_s3_errors_total',
      help: 'Failed S3 calls of the fleet (the daemon then syncs by itself), by operation.',
      labelNames: ['operation'],
      registers,
    }),
    throttledSyncs: new Counter({
      name: 'ecs_ingress_sync_throttled_total',
      help: 'Full syncs AWS throttled (retried later, with the intervals stretched).',
      registers,
    }),
    throttleSlowdown: slowdown,
    noteSnapshot(at) {
      startedAt = at;
    },
  };
}

/** The fleet hooks feeding `m`. */
export function fleetMetricsHooks(m: FleetMetrics): FleetHooks & SupervisorHooks {
  return {
    onRole(role, holder) {
      for (const r of ROLES) m.role.set({ role: r }, r === role ? 1 : 0);
      m.lister.reset();
      if (holder !== undefined) m.lister.set({ instance: holder }, 1);
    },
    onSnapshot(direction, startedAt) {
      m.snapshots.inc({ direction });
      m.noteSnapshot(startedAt);
    },
    onSnapshotUnchanged() {
      m.snapshots.inc({ direction: 'unchanged' });
    },
    onSharedTaskDefinition(outcome) {
      m.sharedTaskDefinitions.inc({ outcome });
    },
    onS3Error(operation) {
      m.s3Errors.inc({ operation });
    },
    onThrottled(factor) {
      m.throttledSyncs.inc();
      m.throttleSlowdown.set(factor);
    },
    onSlowdown(factor) {
      m.throttleSlowdown.set(factor);
    },
  };
}
