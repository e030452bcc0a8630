import type { ClusterEvent, ClusterSnapshotEvent, TaskSnapshot } from '@ecs-ingress/types';
import { enableMapSet, Immer } from 'immer';
import {
  advanceClock,
  applyContainerInstance,
  applyService,
  applyTask,
  applyTaskDefinition,
  bury,
  forgetUnlisted,
  isTime,
  isValidTask,
  nonEmpty,
  type ReduceOutcome,
  type ResolvedOptions,
  registerListed,
  type StateDraft,
  serviceDraft,
  serviceKnown,
} from './apply-event.js';
import { type ClusterState, serviceNameOf } from './state.js';

export type { ReduceOutcome } from './apply-event.js';

enableMapSet();
/** One immer per freeze policy (an instance's settings are its own, not the process's). */
const FROZEN = new Immer({ autoFreeze: true });
const PLAIN = new Immer({ autoFreeze: false });

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
   * V8's freeze costs about 1 µs per object. The state is immutable either way (readonly types,
   * and every change goes through immer's `produce`).
   */
  readonly freeze?: boolean;
}

export const DEFAULT_TOMBSTONE_TTL_MS = 15 * 60_000;
export const DEFAULT_TOMBSTONE_SWEEP_INTERVAL_MS = 60_000;

const FREEZE_BY_DEFAULT = typeof process !== 'undefined' && process.env.NODE_ENV === 'test';

function resolveOptions(options: ReducerOptions): ResolvedOptions {
  const tombstoneTtlMs = options.tombstoneTtlMs ?? DEFAULT_TOMBSTONE_TTL_MS;
  return {
    tombstoneTtlMs,
    absentTombstoneTtlMs: options.absentTombstoneTtlMs ?? tombstoneTtlMs,
    tombstoneSweepIntervalMs: options.tombstoneSweepIntervalMs ?? DEFAULT_TOMBSTONE_SWEEP_INTERVAL_MS,
    freeze: options.freeze ?? FREEZE_BY_DEFAULT,
  };
}

export interface BatchResult {
  /** The next state; the same object when nothing at all changed. */
  readonly state: ClusterState;
  /** One outcome per event, in order. */
  readonly outcomes: ReduceOutcome[];
  /** True when something the derivation reads changed (see `ReduceResult.changed`). */
  readonly changed: boolean;
}

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
 *
 * A batch (what one SQS receive or one listing delivers) is one immer `produce`: services the
 * batch does not touch keep their objects, so the derivation can skip them. A snapshot is a batch
 * of its own (its removal pass reads the state as the listing found it).
 */
export function reduceBatch(
  state: ClusterState,
  events: readonly ClusterEvent[],
  options: ReducerOptions = {},
): BatchResult {
  const opts = resolveOptions(options);
  const outcomes: ReduceOutcome[] = [];
  let changed = false;
  let current = state;
  let start = 0;
  const runUpTo = (end: number): void => {
    if (end <= start) return;
    const run = events.slice(start, end);
    start = end;
    const next = immerOf(opts).produce(current, (draft) => {
      for (const event of run) {
        const [outcome, derivable] = applyOne(draft, event, opts);
        outcomes.push(outcome);
        if (derivable) changed = true;
      }
    });
    current = sweep(next, opts);
  };
  for (let i = 0; i < events.length; i++) {
    const event = events[i] as ClusterEvent;
    if (event?.kind !== 'snapshot') continue;
    runUpTo(i);
    const result = applySnapshot(current, event, opts);
    outcomes.push(result.outcome);
    if (result.changed) changed = true;
    current = sweep(result.state, opts);
    start = i + 1;
  }
  runUpTo(events.length);
  return { state: current, outcomes, changed };
}

/** One event (a batch of one). */
export function reduce(state: ClusterState, event: ClusterEvent, options?: ReducerOptions): ReduceResult {
  const result = reduceBatch(state, [event], options);
  return { state: result.state, outcome: result.outcomes[0] as ReduceOutcome, changed: result.changed };
}

/** Applies events in order, as one batch; convenient for tests and replays. */
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
  const result = reduceBatch(state, [...events], options);
  for (const outcome of result.outcomes) counts[outcome]++;
  return { state: result.state, counts };
}

function immerOf(opts: ResolvedOptions): Immer {
  return opts.freeze ? FROZEN : PLAIN;
}

/** One non-snapshot event; returns its outcome and whether the derivation's inputs changed. */
function applyOne(draft: StateDraft, event: ClusterEvent, opts: ResolvedOptions): [ReduceOutcome, boolean] {
  switch (event?.kind) {
    case 'task': {
      if (!isValidTask(event.task)) return ['invalid', false];
      advanceClock(draft, event.task.observedAt);
      const known = serviceKnown(draft, event.task.clusterArn, serviceNameOf(event.task));
      const outcome = applyTask(draft, event.task, opts);
      return [outcome, outcome === 'applied' || !known];
    }
    case 'task-definition': {
      const outcome = applyTaskDefinition(draft, event.taskDefinition, event.observedAt, opts);
      return [outcome, outcome === 'applied'];
    }
    case 'container-instance': {
      const outcome = applyContainerInstance(draft, event.containerInstance, event.observedAt, opts);
      return [outcome, outcome === 'applied'];
    }
    case 'services': {
      if (!nonEmpty(event.clusterArn) || !Array.isArray(event.services) || !isTime(event.observedAt)) {
        return ['invalid', false];
      }
      advanceClock(draft, event.observedAt);
      const added = registerListed(draft, event.clusterArn, event.services);
      return [added ? 'applied' : 'duplicate', added];
    }
    case 'service': {
      const outcome = applyService(draft, event.service, event.observedAt);
      return [outcome, outcome === 'applied'];
    }
    case 'ignored':
      if (isTime(event.observedAt)) advanceClock(draft, event.observedAt);
      return ['ignored', false];
    default:
      return ['invalid', false];
  }
}

function applySnapshot(
  state: ClusterState,
  event: ClusterSnapshotEvent,
  opts: ResolvedOptions,
): { state: ClusterState; outcome: ReduceOutcome; changed: boolean } {
  const { clusterArn, startedAt, tasks } = event;
  if (!nonEmpty(clusterArn) || !isTime(startedAt) || !Array.isArray(tasks)) {
    return { state, outcome: 'invalid', changed: false };
  }
  const listed = new Set<string>();
  for (const task of tasks) if (isValidTask(task)) listed.add(task.taskArn); // one bad task never sinks the listing
  // Tasks the listing did not contain are gone, unless observed at or after the listing began:
  // an event that raced the listing is newer than it. Ties are kept (a wrongly kept task is fixed
  // by its STOPPED event or the next resync; a wrongly removed one would drop a live backend).
  // Read from the state as it is (not a draft): applying the listed tasks cannot change these.
  const absent: TaskSnapshot[] = [];
  // Services only task events named: forgotten after the listing if it names services, and
  // neither names them nor leaves them a task.
  const listsServices = Array.isArray(event.services);
  const unlisted: number[] = [];
  // Services with an age the listing no longer names and that hold no task: deleted. Their age
  // goes (a service created again under the name is a new service, asked for again). One with a
  // live task keeps it: a listing that lags cannot make an incumbent the youngest.
  const deleted: number[] = [];
  const names = listsServices ? new Set(event.services) : undefined;
  for (const [index, service] of state.services.entries()) {
    if (service.clusterArn !== clusterArn) continue;
    for (const [arn, entry] of service.tasks) {
      if (!listed.has(arn) && entry.task.observedAt < startedAt) absent.push(entry.task);
    }
    if (listsServices && service.name !== undefined && !service.listed && !service.forgotten) {
      unlisted.push(index);
    }
    if (names !== undefined && service.createdAt !== undefined && !names.has(service.name as string)) {
      deleted.push(index);
    }
  }
  let changed = false;
  const next = immerOf(opts).produce(state, (draft) => {
    advanceClock(draft, startedAt);
    for (const task of tasks) if (isValidTask(task)) advanceClock(draft, task.observedAt);
    for (const task of tasks) {
      if (!isValidTask(task)) continue;
      const known = serviceKnown(draft, task.clusterArn, serviceNameOf(task));
      if (applyTask(draft, task, opts) === 'applied' || !known) changed = true;
    }
    if (listsServices && registerListed(draft, clusterArn, event.services as readonly unknown[])) {
      changed = true;
    }
    for (const task of absent) {
      const service = serviceDraft(draft, task.clusterArn, serviceNameOf(task));
      bury(draft, service, task, 'absent', opts.absentTombstoneTtlMs, opts);
      changed = true;
    }
    if (listsServices && forgetUnlisted(draft, unlisted)) changed = true;
    for (const index of deleted) {
      const service = draft.services[index];
      // Checked after this listing's own changes: its tasks may have been buried (or listed) just now.
      if (service === undefined || service.tasks.size > 0) continue;
      delete service.createdAt;
      changed = true;
    }
  });
  return { state: next, outcome: changed ? 'applied' : 'duplicate', changed };
}

/**
 * Expired tombstones are treated as absent on lookup, and swept out at most once per
 * `tombstoneSweepIntervalMs` of clock time, so the O(tombstones) sweep is amortised over the
 * events of that interval instead of paid per event. Only services holding an expired one change.
 */
function sweep(state: ClusterState, opts: ResolvedOptions): ClusterState {
  if (state.clock < state.nextTombstoneSweepAt) return state;
  const clock = state.clock;
  const expired: [number, string[]][] = [];
  for (const [index, service] of state.services.entries()) {
    const arns: string[] = [];
    for (const [arn, tombstone] of service.tombstones) if (tombstone.expiresAt <= clock) arns.push(arn);
    if (arns.length > 0) expired.push([index, arns]);
  }
  return immerOf(opts).produce(state, (draft) => {
    draft.nextTombstoneSweepAt = clock + opts.tombstoneSweepIntervalMs;
    for (const [index, arns] of expired) {
      const service = draft.services[index];
      if (service !== undefined) for (const arn of arns) service.tombstones.delete(arn);
    }
  });
}
