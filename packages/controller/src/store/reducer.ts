import type {
  ClusterEvent,
  ClusterSnapshotEvent,
  ContainerInstanceView,
  HealthStatus,
  TaskDefinitionView,
  TaskSnapshot,
} from '@ecs-ingress/types';
import { freeze } from 'immer';
import { hashKey, mapDelete, mapForEach, mapGet, mapSet, type PersistentMap } from './persistent-map.js';
import { forgetUnlisted, registerListed, registerService } from './service-names.js';
import {
  type ClusterState,
  serviceNameOf,
  type TaskEntry,
  type TaskHealth,
  type Tombstone,
  type TombstoneReason,
} from './state.js';

/** What the store did with one event (the `outcome` label of `ecs_ingress_events_applied_total`). */
export type ReduceOutcome = 'applied' | 'stale' | 'duplicate' | 'ignored' | 'invalid';

/** Every outcome, in a fixed order (for counters). */
export const REDUCE_OUTCOMES: readonly ReduceOutcome[] = [
  'applied',
  'stale',
  'duplicate',
  'ignored',
  'invalid',
];

export interface ReduceResult {
  /** The next state; the same object when nothing at all changed. */
  readonly state: ClusterState;
  readonly outcome: ReduceOutcome;
  /**
   * True when something the derivation reads changed (tasks, task definitions, container instances,
   * services). Clock and tombstone bookkeeping alone do not count: they cannot change upstreams.
   */
  readonly changed: boolean;
}

export interface ReducerOptions {
  /** How long a STOPPED task's tombstone blocks observations of its ARN (default 15 min). */
  readonly tombstoneTtlMs?: number;
  /** How long a task removed by a snapshot (absent from the listing) stays tombstoned (default: tombstoneTtlMs). */
  readonly absentTombstoneTtlMs?: number;
  /** Minimum clock time between sweeps of expired tombstones (default 60 s). */
  readonly tombstoneSweepIntervalMs?: number;
  /**
   * `Object.freeze` everything the reducer stores (the state record, task entries, tombstones, and
   * deeply what enters: snapshots, task definitions, container instances), so code that mutates
   * the state throws. Default: on under test (`NODE_ENV=test`, which vitest sets), off otherwise:
   * V8's freeze costs about 1 µs per object, as much as the rest of the reducer's work per event.
   * The state is immutable either way (readonly types, and nothing writes to it).
   */
  readonly freeze?: boolean;
}

export const DEFAULT_TOMBSTONE_TTL_MS = 15 * 60_000;
export const DEFAULT_TOMBSTONE_SWEEP_INTERVAL_MS = 60_000;

const FREEZE_BY_DEFAULT = typeof process !== 'undefined' && process.env.NODE_ENV === 'test';

interface ResolvedOptions {
  readonly tombstoneTtlMs: number;
  readonly absentTombstoneTtlMs: number;
  readonly tombstoneSweepIntervalMs: number;
  readonly freeze: boolean;
}

function resolveOptions(options: ReducerOptions): ResolvedOptions {
  const tombstoneTtlMs = options.tombstoneTtlMs ?? DEFAULT_TOMBSTONE_TTL_MS;
  return {
    tombstoneTtlMs,
    absentTombstoneTtlMs: options.absentTombstoneTtlMs ?? tombstoneTtlMs,
    tombstoneSweepIntervalMs: options.tombstoneSweepIntervalMs ?? DEFAULT_TOMBSTONE_SWEEP_INTERVAL_MS,
    freeze: options.freeze ?? FREEZE_BY_DEFAULT,
  };
}

const DEFAULTS = resolveOptions({});

/**
 * Resolved once per options object (the store passes the same one to every dispatch): the reducer
 * runs per event, and a fresh object per call is garbage the young-generation GC has to sweep.
 * Options are readonly; a caller that wants other options passes another object.
 */
const resolvedCache = new WeakMap<ReducerOptions, ResolvedOptions>();

function resolvedOptions(options: ReducerOptions): ResolvedOptions {
  let resolved = resolvedCache.get(options);
  if (resolved === undefined) {
    resolved = resolveOptions(options);
    resolvedCache.set(options, resolved);
  }
  return resolved;
}

/**
 * A mutable working copy of the state's top-level fields. The collections inside are persistent
 * maps, so "mutating" a field means replacing it with an updated map; the input state is never
 * touched. At the end the fields are compared by reference with the input to tell what changed.
 */
interface Work {
  tasks: PersistentMap<TaskEntry>;
  taskDefinitions: PersistentMap<TaskDefinitionView>;
  containerInstances: PersistentMap<ContainerInstanceView>;
  tombstones: PersistentMap<Tombstone>;
  services: Readonly<Record<string, PersistentMap<string>>>;
  listedServices: Readonly<Record<string, PersistentMap<string>>>;
  clock: number;
  nextTombstoneSweepAt: number;
}

type TaskOutcome = 'applied' | 'stale' | 'duplicate' | 'invalid';

/**
 * The store's reducer: pure, synchronous, deterministic (no wall clock). Rules:
 * - Task observations are ordered by ECS's `version`: lower than stored → `stale`; equal →
 *   `duplicate`, except that a `described` observation at the same version may bring health, and
 *   is `applied` when it changes the health known.
 * - Health is sticky: only `described` observations set it; events keep the last one.
 * - lastStatus STOPPED (or DELETED) removes the task and leaves a `stopped` tombstone for
 *   `tombstoneTtlMs`, which refuses every later observation of that ARN (`stale`).
 * - A snapshot (full listing) applies each listed task by the same rules, then removes the
 *   cluster's tasks it did not list, but only those last observed strictly before `startedAt`
 *   (an event seen after the listing began is newer than the listing); removed tasks get an
 *   `absent` tombstone that refuses observations up to their version.
 * - Tasks of standalone groups are stored like any other; the derivation decides what routes.
 * - Services are remembered per cluster from task groups, snapshots and `services` events. Listed
 *   ones (snapshot, `services` event) forever; one only task events named is forgotten by a
 *   snapshot that lists services without it while no live task of the cluster names it.
 */
export function reduce(state: ClusterState, event: ClusterEvent, options?: ReducerOptions): ReduceResult {
  const opts = options === undefined ? DEFAULTS : resolvedOptions(options);
  const work: Work = { ...state };
  let outcome: ReduceOutcome;
  switch (event.kind) {
    case 'task':
      if (!isValidTask(event.task)) {
        outcome = 'invalid';
        break;
      }
      advanceClock(work, event.task.observedAt);
      outcome = applyTask(work, event.task, opts);
      break;
    case 'task-definition':
      outcome = applyTaskDefinition(work, event.taskDefinition, event.observedAt, opts);
      break;
    case 'container-instance':
      outcome = applyContainerInstance(work, event.containerInstance, event.observedAt, opts);
      break;
    case 'snapshot':
      outcome = applySnapshot(work, event, opts);
      break;
    case 'services':
      if (!nonEmpty(event.clusterArn) || !Array.isArray(event.services) || !isTime(event.observedAt)) {
        outcome = 'invalid';
        break;
      }
      advanceClock(work, event.observedAt);
      outcome = registerListed(work, event.clusterArn, event.services) ? 'applied' : 'duplicate';
      break;
    case 'ignored':
      if (isTime(event.observedAt)) advanceClock(work, event.observedAt);
      outcome = 'ignored';
      break;
    default:
      outcome = 'invalid';
  }
  sweepTombstones(work, opts);
  const changed =
    work.tasks !== state.tasks ||
    work.taskDefinitions !== state.taskDefinitions ||
    work.containerInstances !== state.containerInstances ||
    work.services !== state.services;
  const same =
    !changed &&
    work.listedServices === state.listedServices &&
    work.tombstones === state.tombstones &&
    work.clock === state.clock &&
    work.nextTombstoneSweepAt === state.nextTombstoneSweepAt;
  return { state: same ? state : opts.freeze ? Object.freeze(work) : work, outcome, changed };
}

/** Applies events in order; convenient for tests, replays and batches. */
export function reduceAll(
  state: ClusterState,
  events: Iterable<ClusterEvent>,
  options?: ReducerOptions,
): { state: ClusterState; counts: Record<ReduceOutcome, number> } {
  const counts: Record<ReduceOutcome, number> = {
    applied: 0,
    stale: 0,
    duplicate: 0,
    ignored: 0,
    invalid: 0,
  };
  let current = state;
  for (const event of events) {
    const result = reduce(current, event, options);
    counts[result.outcome]++;
    current = result.state;
  }
  return { state: current, counts };
}

function nonEmpty(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}

function isTime(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

function isValidTask(task: TaskSnapshot | undefined): task is TaskSnapshot {
  return (
    task !== undefined &&
    task !== null &&
    nonEmpty(task.taskArn) &&
    nonEmpty(task.clusterArn) &&
    typeof task.version === 'number' &&
    Number.isFinite(task.version) &&
    isTime(task.observedAt) &&
    typeof task.lastStatus === 'string' &&
    Array.isArray(task.containers)
  );
}

function advanceClock(work: Work, time: number): void {
  if (time > work.clock) work.clock = time;
}

function isTerminal(task: TaskSnapshot): boolean {
  return task.lastStatus === 'STOPPED' || task.lastStatus === 'DELETED';
}

function healthOf(task: TaskSnapshot, opts: ResolvedOptions): TaskHealth {
  const containers: Record<string, HealthStatus> = {};
  for (const container of task.containers) {
    if (container.healthStatus !== undefined) containers[container.name] = container.healthStatus;
  }
  const health: TaskHealth =
    task.healthStatus === undefined
      ? { containers, version: task.version, observedAt: task.observedAt }
      : { taskStatus: task.healthStatus, containers, version: task.version, observedAt: task.observedAt };
  return admit(health, opts);
}

function sameHealth(a: TaskHealth | undefined, b: TaskHealth): boolean {
  if (a === undefined || a.taskStatus !== b.taskStatus) return false;
  const aKeys = Object.keys(a.containers);
  if (aKeys.length !== Object.keys(b.containers).length) return false;
  for (const key of aKeys) if (a.containers[key] !== b.containers[key]) return false;
  return true;
}

function setTombstone(
  work: Work,
  task: TaskSnapshot,
  reason: TombstoneReason,
  ttlMs: number,
  opts: ResolvedOptions,
): void {
  const tombstone: Tombstone = admit(
    {
      taskArn: task.taskArn,
      clusterArn: task.clusterArn,
      version: task.version,
      expiresAt: work.clock + ttlMs,
      reason,
    },
    opts,
  );
  work.tombstones = mapSet(work.tombstones, task.taskArn, tombstone);
}

/** One task observation. The clock has already been advanced to its time. */
function applyTask(work: Work, task: TaskSnapshot, opts: ResolvedOptions): TaskOutcome {
  const arn = task.taskArn;
  const hash = hashKey(arn);
  const entry = mapGet(work.tasks, arn, hash);

  // A service seen even in a stale observation did exist: remember its upstream. Services are only
  // forgotten by a snapshot, so a stored task of the same service (the common case: a task's later
  // events) means it is known already, and the lookup is skipped.
  const service = serviceNameOf(task);
  if (service !== undefined && (entry === undefined || serviceNameOf(entry.task) !== service)) {
    registerService(work, task.clusterArn, service);
  }

  if (entry === undefined) {
    // Only an ARN without a live task can be tombstoned: a tombstone is set as its task leaves
    // `tasks`, and a task is stored only once its ARN has no tombstone in force (an expired one may
    // linger until the sweep, but the clock never goes back). So a stored task skips this lookup.
    const tombstone = mapGet(work.tombstones, arn, hash);
    if (tombstone !== undefined && tombstone.expiresAt > work.clock) {
      if (tombstone.reason === 'stopped' || task.version <= tombstone.version) return 'stale';
      // A newer observation than an `absent` tombstone: the listing missed a live task.
      work.tombstones = mapDelete(work.tombstones, arn, hash);
    }
  } else {
    if (task.version < entry.task.version) return 'stale';
    if (task.version === entry.task.version) {
      if (task.source !== 'described') return 'duplicate';
      const health = healthOf(task, opts);
      if (sameHealth(entry.health, health)) return 'duplicate';
      // Same state, richer observation: keep the described snapshot and its health.
      work.tasks = mapSet(work.tasks, arn, admit({ task, health }, opts), hash);
      return 'applied';
    }
  }

  if (isTerminal(task)) {
    if (entry !== undefined) work.tasks = mapDelete(work.tasks, arn, hash);
    setTombstone(work, task, 'stopped', opts.tombstoneTtlMs, opts);
    return 'applied';
  }

  const health = task.source === 'described' ? healthOf(task, opts) : entry?.health;
  const next: TaskEntry = health === undefined ? { task } : { task, health };
  work.tasks = mapSet(work.tasks, arn, admit(next, opts), hash);
  return 'applied';
}

/** Deep-freezes a value when the options ask for it (immer's `freeze` stops at frozen parts). */
function admit<T>(value: T, opts: ResolvedOptions): T {
  return opts.freeze ? freeze(value, true) : value;
}

function applyTaskDefinition(
  work: Work,
  taskDefinition: TaskDefinitionView | undefined,
  observedAt: number,
  opts: ResolvedOptions,
): ReduceOutcome {
  if (taskDefinition === undefined || !nonEmpty(taskDefinition.taskDefinitionArn) || !isTime(observedAt)) {
    return 'invalid';
  }
  advanceClock(work, observedAt);
  // A registered revision never changes in ECS, so the first copy is kept.
  if (mapGet(work.taskDefinitions, taskDefinition.taskDefinitionArn) !== undefined) return 'duplicate';
  work.taskDefinitions = mapSet(
    work.taskDefinitions,
    taskDefinition.taskDefinitionArn,
    admit(taskDefinition, opts),
  );
  return 'applied';
}

function applyContainerInstance(
  work: Work,
  instance: ContainerInstanceView | undefined,
  observedAt: number,
  opts: ResolvedOptions,
): ReduceOutcome {
  if (instance === undefined || !nonEmpty(instance.containerInstanceArn) || !isTime(observedAt))
    return 'invalid';
  advanceClock(work, observedAt);
  const known = mapGet(work.containerInstances, instance.containerInstanceArn);
  if (
    known !== undefined &&
    known.ec2InstanceId === instance.ec2InstanceId &&
    known.privateIpAddress === instance.privateIpAddress
  ) {
    return 'duplicate';
  }
  // Latest observation wins (an instance's IP does not change, but a first sighting may lack it).
  work.containerInstances = mapSet(
    work.containerInstances,
    instance.containerInstanceArn,
    admit(instance, opts),
  );
  return 'applied';
}

function applySnapshot(work: Work, event: ClusterSnapshotEvent, opts: ResolvedOptions): ReduceOutcome {
  const { clusterArn, startedAt, tasks } = event;
  if (!nonEmpty(clusterArn) || !isTime(startedAt) || !Array.isArray(tasks)) return 'invalid';
  const before = { ...work };
  advanceClock(work, startedAt);
  const listed = new Set<string>();
  for (const task of tasks) {
    if (!isValidTask(task)) continue; // one bad task never sinks the listing
    listed.add(task.taskArn);
    advanceClock(work, task.observedAt);
  }
  for (const task of tasks) if (isValidTask(task)) applyTask(work, task, opts);
  const listsServices = event.services !== undefined && Array.isArray(event.services);
  if (listsServices) registerListed(work, clusterArn, event.services as readonly unknown[]);
  // Tasks the listing did not contain are gone, unless observed at or after the listing began:
  // an event that raced the listing is newer than it. Ties are kept (a wrongly kept task is fixed
  // by its STOPPED event or the next resync; a wrongly removed one would drop a live backend).
  const absent: TaskSnapshot[] = [];
  mapForEach(work.tasks, (entry, arn) => {
    if (entry.task.clusterArn === clusterArn && !listed.has(arn) && entry.task.observedAt < startedAt) {
      absent.push(entry.task);
    }
  });
  for (const task of absent) {
    work.tasks = mapDelete(work.tasks, task.taskArn);
    setTombstone(work, task, 'absent', opts.absentTombstoneTtlMs, opts);
  }
  if (listsServices) forgetUnlisted(work, clusterArn);
  const modified =
    work.tasks !== before.tasks || work.services !== before.services || work.tombstones !== before.tombstones;
  return modified ? 'applied' : 'duplicate';
}

/**
 * Expired tombstones are treated as absent on lookup, and swept out at most once per
 * `tombstoneSweepIntervalMs` of clock time, so the O(tombstones) sweep is amortised over the
 * events of that interval instead of paid per event.
 */
function sweepTombstones(work: Work, opts: ResolvedOptions): void {
  if (work.clock < work.nextTombstoneSweepAt) return;
  work.nextTombstoneSweepAt = work.clock + opts.tombstoneSweepIntervalMs;
  if (work.tombstones.size === 0) return;
  const expired: string[] = [];
  mapForEach(work.tombstones, (tombstone, arn) => {
    if (tombstone.expiresAt <= work.clock) expired.push(arn);
  });
  for (const arn of expired) work.tombstones = mapDelete(work.tombstones, arn);
}
