/**
 * The reducer's rules for one event, applied to an immer draft of the state (see reducer.ts for
 * the batching and the rules in prose). Everything here writes through the draft only; the values
 * stored (task entries, tombstones) are `Record`s, which immer treats as plain values and never
 * drafts, so reading a stored task costs a map lookup, not a proxy.
 */
import type {
  ContainerInstanceView,
  HealthStatus,
  ServiceView,
  TaskDefinitionView,
  TaskSnapshot,
} from '@ecs-ingress/types';
import { castDraft, type Draft, freeze } from 'immer';
import {
  type ClusterState,
  type ServiceState,
  serviceKey,
  serviceNameOf,
  type TaskEntry,
  type TaskHealth,
  type Tombstone,
  type TombstoneReason,
} from './state.js';

/** What the store did with one event (the `outcome` label of `ecs_ingress_events_applied_total`). */
export type ReduceOutcome = 'applied' | 'stale' | 'duplicate' | 'ignored' | 'invalid';

export interface ResolvedOptions {
  readonly tombstoneTtlMs: number;
  readonly absentTombstoneTtlMs: number;
  readonly tombstoneSweepIntervalMs: number;
  readonly freeze: boolean;
}

export type StateDraft = Draft<ClusterState>;
type ServiceDraft = Draft<ServiceState>;

/**
 * Stored values immer must not draft: a class instance without `[immerable]` is a plain value to
 * it. Entries and tombstones are replaced, never edited.
 */
class Entry implements TaskEntry {
  readonly health?: TaskHealth;
  constructor(
    readonly task: TaskSnapshot,
    health: TaskHealth | undefined,
  ) {
    if (health !== undefined) this.health = health;
  }
}

class Mark implements Tombstone {
  constructor(
    readonly taskArn: string,
    readonly clusterArn: string,
    readonly version: number,
    readonly expiresAt: number,
    readonly reason: TombstoneReason,
  ) {}
}

export function nonEmpty(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}

export function isTime(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

export function isValidTask(task: TaskSnapshot | undefined): task is TaskSnapshot {
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

export function advanceClock(draft: StateDraft, time: number): void {
  // Assigned only when it moves: an unchanged clock leaves the draft unmodified.
  if (time > draft.clock) draft.clock = time;
}

/** Deep-freezes a value when the options ask for it (immer's `freeze` stops at frozen parts). */
function admit<T>(value: T, opts: ResolvedOptions): T {
  return opts.freeze ? freeze(value, true) : value;
}

/** Freezes one of our records (immer's `freeze` leaves class instances alone). */
function seal<T extends object>(value: T, opts: ResolvedOptions): T {
  return opts.freeze ? Object.freeze(value) : value;
}

/** The service's draft, created (empty) when first seen. */
export function serviceDraft(draft: StateDraft, clusterArn: string, name: string | undefined): ServiceDraft {
  const key = serviceKey(clusterArn, name);
  let index = draft.serviceIndex.get(key);
  if (index === undefined) {
    const fresh: ServiceState = {
      clusterArn,
      name,
      tasks: new Map(),
      tombstones: new Map(),
      listed: false,
      forgotten: false,
    };
    index = draft.services.length;
    draft.services.push(castDraft(fresh));
    draft.serviceIndex.set(key, index);
  }
  return draft.services[index] as ServiceDraft;
}

/** True when the service has an upstream now (the standalone group counts as known). */
export function serviceKnown(draft: StateDraft, clusterArn: string, name: string | undefined): boolean {
  if (name === undefined) return true;
  const index = draft.serviceIndex.get(serviceKey(clusterArn, name));
  return index !== undefined && !(draft.services[index] as ServiceDraft).forgotten;
}

/**
 * Names an API listing gave: known (remembered, or remembered again), and marked listed, so kept
 * forever. @returns true when one of them was not known
 */
export function registerListed(draft: StateDraft, clusterArn: string, names: readonly unknown[]): boolean {
  let added = false;
  for (const name of names) {
    if (!nonEmpty(name)) continue;
    if (!serviceKnown(draft, clusterArn, name)) added = true;
    const service = serviceDraft(draft, clusterArn, name);
    if (service.forgotten) service.forgotten = false;
    if (!service.listed) service.listed = true;
  }
  return added;
}

/**
 * Forgets the cluster's services no listing named that have no live task (after a listing that
 * named services). `candidates` are their indexes in the state the listing began from: unlisted,
 * not forgotten; this batch cannot have made a new one.
 */
export function forgetUnlisted(draft: StateDraft, candidates: readonly number[]): boolean {
  let forgot = false;
  for (const index of candidates) {
    const service = draft.services[index] as ServiceDraft;
    if (service.listed || service.forgotten || service.tasks.size > 0) continue;
    service.forgotten = true;
    forgot = true;
  }
  return forgot;
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

/** Removes a task (if stored) and leaves its tombstone. */
export function bury(
  draft: StateDraft,
  service: ServiceDraft,
  task: TaskSnapshot,
  reason: TombstoneReason,
  ttlMs: number,
  opts: ResolvedOptions,
): void {
  if (service.tasks.has(task.taskArn)) service.tasks.delete(task.taskArn);
  const mark = new Mark(task.taskArn, task.clusterArn, task.version, draft.clock + ttlMs, reason);
  service.tombstones.set(task.taskArn, seal(mark, opts));
}

/**
 * One task observation; the clock has already been advanced to its time. A task is looked up in
 * its own service (ECS never changes a task's group), so one event touches one service.
 */
export function applyTask(
  draft: StateDraft,
  task: TaskSnapshot,
  opts: ResolvedOptions,
): 'applied' | 'stale' | 'duplicate' {
  const arn = task.taskArn;
  // A service seen even in a stale observation did exist: remember its upstream.
  const service = serviceDraft(draft, task.clusterArn, serviceNameOf(task));
  if (service.forgotten) service.forgotten = false;
  const entry = service.tasks.get(arn) as TaskEntry | undefined;

  if (entry === undefined) {
    // Only an ARN without a live task can be tombstoned: a tombstone is set as its task leaves
    // `tasks`, and a task is stored only once its ARN has no tombstone in force.
    const tombstone = service.tombstones.get(arn) as Tombstone | undefined;
    if (tombstone !== undefined && tombstone.expiresAt > draft.clock) {
      if (tombstone.reason === 'stopped' || task.version <= tombstone.version) return 'stale';
      // A newer observation than an `absent` tombstone: the listing missed a live task.
      service.tombstones.delete(arn);
    }
  } else {
    if (task.version < entry.task.version) return 'stale';
    if (task.version === entry.task.version) {
      if (task.source !== 'described') return 'duplicate';
      const health = healthOf(task, opts);
      if (sameHealth(entry.health, health)) return 'duplicate';
      // Same state, richer observation: keep the described snapshot and its health.
      service.tasks.set(arn, castDraft(seal(new Entry(admit(task, opts), health), opts)));
      return 'applied';
    }
  }

  if (isTerminal(task)) {
    bury(draft, service, task, 'stopped', opts.tombstoneTtlMs, opts);
    return 'applied';
  }
  const health = task.source === 'described' ? healthOf(task, opts) : entry?.health;
  service.tasks.set(arn, castDraft(seal(new Entry(admit(task, opts), health), opts)));
  return 'applied';
}

export function applyTaskDefinition(
  draft: StateDraft,
  taskDefinition: TaskDefinitionView | undefined,
  observedAt: number,
  opts: ResolvedOptions,
): ReduceOutcome {
  if (taskDefinition === undefined || !nonEmpty(taskDefinition.taskDefinitionArn) || !isTime(observedAt)) {
    return 'invalid';
  }
  advanceClock(draft, observedAt);
  // A registered revision never changes in ECS, so the first copy is kept.
  if (draft.taskDefinitions.has(taskDefinition.taskDefinitionArn)) return 'duplicate';
  draft.taskDefinitions.set(taskDefinition.taskDefinitionArn, castDraft(admit(taskDefinition, opts)));
  return 'applied';
}

/**
 * A DescribeServices answer: the service's `createdAt`. Known from the API, so the service is
 * known and listed (as a `services` observation would make it). The same service created again
 * under its name has a new `createdAt`: the latest answer replaces the one held.
 */
export function applyService(
  draft: StateDraft,
  service: ServiceView | undefined,
  observedAt: number,
): ReduceOutcome {
  if (
    service === undefined ||
    !nonEmpty(service.clusterArn) ||
    !nonEmpty(service.serviceName) ||
    !isTime(service.createdAt) ||
    !isTime(observedAt)
  ) {
    return 'invalid';
  }
  advanceClock(draft, observedAt);
  const known = serviceKnown(draft, service.clusterArn, service.serviceName);
  const entry = serviceDraft(draft, service.clusterArn, service.serviceName);
  if (known && entry.listed && entry.createdAt === service.createdAt) return 'duplicate';
  if (entry.forgotten) entry.forgotten = false;
  if (!entry.listed) entry.listed = true;
  entry.createdAt = service.createdAt;
  return 'applied';
}

export function applyContainerInstance(
  draft: StateDraft,
  instance: ContainerInstanceView | undefined,
  observedAt: number,
  opts: ResolvedOptions,
): ReduceOutcome {
  if (instance === undefined || !nonEmpty(instance.containerInstanceArn) || !isTime(observedAt)) {
    return 'invalid';
  }
  advanceClock(draft, observedAt);
  const arn = instance.containerInstanceArn;
  const known = draft.containerInstances.get(arn);
  if (
    known !== undefined &&
    known.ec2InstanceId === instance.ec2InstanceId &&
    known.privateIpAddress === instance.privateIpAddress
  ) {
    return 'duplicate';
  }
  // Latest observation wins (an instance's IP does not change, but a first sighting may lack it).
  draft.containerInstances.set(arn, castDraft(admit(instance, opts)));
  return 'applied';
}
