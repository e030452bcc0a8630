import type {
  ContainerInstanceView,
  HealthStatus,
  TaskDefinitionView,
  TaskSnapshot,
} from '@ecs-ingress/types';

/**
 * Health as the last `described` observation (DescribeTasks) reported it. Task state change events
 * carry no health we trust, so this is sticky: later events keep it, only a newer description
 * replaces it.
 */
export interface TaskHealth {
  /** Task-level `healthStatus` (the aggregate over essential containers). */
  readonly taskStatus?: HealthStatus;
  /** `healthStatus` per container name, for the containers that reported one. */
  readonly containers: Readonly<Record<string, HealthStatus>>;
  /** The task version the description was made at. */
  readonly version: number;
  /** When the description was made (epoch ms). */
  readonly observedAt: number;
}

/** What the store knows of one live task. */
export interface TaskEntry {
  /** The latest observation (highest version). */
  readonly task: TaskSnapshot;
  /** The last health a `described` observation reported, if any. */
  readonly health?: TaskHealth;
}

/**
 * Why a task ARN is blocked:
 * - `stopped`: ECS reported it STOPPED. STOPPED is terminal in ECS, so no later observation of
 *   that ARN can be a live task; every observation is refused while the tombstone lives, whatever
 *   its version (robust even against a version that was never seen before the stop).
 * - `absent`: a full listing that began after its last observation did not contain it. The listing
 *   proves nothing terminal (ListTasks is eventually consistent), so only observations at or below
 *   the removed version are refused: a late duplicate cannot resurrect it, a newer one can.
 */
export type TombstoneReason = 'stopped' | 'absent';

/** A removed task's marker, so late or duplicate events cannot bring it back. */
export interface Tombstone {
  readonly taskArn: string;
  readonly clusterArn: string;
  /** The highest version seen for the task. */
  readonly version: number;
  /** State clock time after which the tombstone no longer counts (and is swept). */
  readonly expiresAt: number;
  readonly reason: TombstoneReason;
}

/**
 * One service of one cluster: its live tasks, and the tombstones of its removed ones. A service is
 * replaced as a whole object when anything in it changes (immer's structural sharing), and kept as
 * the same object otherwise, so the derivation can remember its result per service by identity.
 * Each cluster also has one group without a `name`: its standalone tasks (`family:…` or no group).
 */
export interface ServiceState {
  readonly clusterArn: string;
  /** The service name; `undefined` for the cluster's standalone tasks. */
  readonly name: string | undefined;
  /** Live tasks (everything not STOPPED), by task ARN. */
  readonly tasks: ReadonlyMap<string, TaskEntry>;
  /** Removed tasks by ARN, until `expiresAt` (swept now and then, see the reducer). */
  readonly tombstones: ReadonlyMap<string, Tombstone>;
  /** An API listing (ListServices in a snapshot, a `services` event) named it: kept forever. */
  readonly listed: boolean;
  /**
   * Forgotten: only task events named it, and a listing that did not name it found it without a
   * task (a forged or stray event must not leave an upstream behind for good). It has no upstream
   * until a task names it again; the group stays, with its tombstones.
   */
  readonly forgotten: boolean;
  /**
   * ECS `createdAt` of the service (epoch ms), once DescribeServices told it (a `service`
   * observation; fetched only for services whose labels publish routes). Route seniority: the
   * older service wins a conflict; while unknown the service counts as the youngest.
   */
  readonly createdAt?: number;
}

/**
 * The store's whole state: immutable (immer), structurally shared, so a reader may keep any version
 * for as long as it likes. Everything is keyed by full ARN; all clusters live side by side.
 */
export interface ClusterState {
  /**
   * Every service ever seen, in order of first sighting. A service once seen keeps its group, and
   * so its upstream (with the DOWN placeholder when empty), so a user's `proxy_pass` never points at
   * a missing upstream. An array, not a `Map` keyed by service: immer copies a changed array with
   * one `slice` (microseconds for 5,000 services) and a `Map` entry by entry (~2 ms for 5,000 on
   * the loaded benchmark machine), once per batch.
   */
  readonly services: readonly ServiceState[];
  /** Index in `services` by `serviceKey(clusterArn, name)`; changes only when a service is new. */
  readonly serviceIndex: ReadonlyMap<string, number>;
  /** Task definitions by ARN; immutable in ECS, so cached forever. */
  readonly taskDefinitions: ReadonlyMap<string, TaskDefinitionView>;
  /** Container instances by ARN (→ EC2 instance → private IP). */
  readonly containerInstances: ReadonlyMap<string, ContainerInstanceView>;
  /**
   * The latest observation time seen (epoch ms). The store never reads the wall clock: tombstones
   * expire by this clock, so a replay is deterministic.
   */
  readonly clock: number;
  /** Clock time of the next sweep of expired tombstones (amortised, see the reducer). */
  readonly nextTombstoneSweepAt: number;
}

/**
 * The service a task belongs to: its `serviceName`, else the name parsed from a `service:<name>`
 * group. Standalone tasks (`family:<name>`, or no group) have none.
 */
export function serviceNameOf(task: TaskSnapshot): string | undefined {
  if (task.serviceName !== undefined && task.serviceName !== '') return task.serviceName;
  const group = task.group;
  if (group?.startsWith('service:') && group.length > 'service:'.length) {
    return group.slice('service:'.length);
  }
  return undefined;
}

/** The key of a service in `ClusterState.serviceIndex` (`name` undefined: the standalone tasks). */
export function serviceKey(clusterArn: string, name: string | undefined): string {
  // A space cannot occur in an ARN; the standalone group's key ends with the space.
  return name === undefined ? `${clusterArn} ` : `${clusterArn} ${name}`;
}

/** The state before any event. */
export function emptyState(): ClusterState {
  return Object.freeze({
    services: [],
    serviceIndex: new Map<string, number>(),
    taskDefinitions: new Map<string, TaskDefinitionView>(),
    containerInstances: new Map<string, ContainerInstanceView>(),
    clock: 0,
    nextTombstoneSweepAt: 0,
  });
}

/** The entry of a live task, or `undefined`. O(services): for tests and tools, not hot paths. */
export function getTask(state: ClusterState, taskArn: string): TaskEntry | undefined {
  for (const service of state.services) {
    const entry = service.tasks.get(taskArn);
    if (entry !== undefined) return entry;
  }
  return undefined;
}

/** All live task entries (by service, then arrival order). */
export function listTasks(state: ClusterState): TaskEntry[] {
  const out: TaskEntry[] = [];
  for (const service of state.services) for (const entry of service.tasks.values()) out.push(entry);
  return out;
}

/** Live tasks, all services together. */
export function taskCount(state: ClusterState): number {
  let count = 0;
  for (const service of state.services) count += service.tasks.size;
  return count;
}

/** Tombstones held (expired ones included until swept). */
export function tombstoneCount(state: ClusterState): number {
  let count = 0;
  for (const service of state.services) count += service.tombstones.size;
  return count;
}

/** A task definition by ARN, or `undefined`. */
export function getTaskDefinition(state: ClusterState, arn: string): TaskDefinitionView | undefined {
  return state.taskDefinitions.get(arn);
}

/** A container instance by ARN, or `undefined`. */
export function getContainerInstance(state: ClusterState, arn: string): ContainerInstanceView | undefined {
  return state.containerInstances.get(arn);
}

/** The tombstone of a task ARN if it is still in force at the state's clock. O(services). */
export function getTombstone(state: ClusterState, taskArn: string): Tombstone | undefined {
  for (const service of state.services) {
    const tombstone = service.tombstones.get(taskArn);
    if (tombstone !== undefined && tombstone.expiresAt > state.clock) return tombstone;
  }
  return undefined;
}

/** Known service names of one cluster, or of all clusters when `clusterArn` is omitted; sorted, unique. */
export function knownServices(state: ClusterState, clusterArn?: string): string[] {
  const names = new Set<string>();
  for (const service of state.services) {
    if (service.name === undefined || service.forgotten) continue;
    if (clusterArn !== undefined && service.clusterArn !== clusterArn) continue;
    names.add(service.name);
  }
  return [...names].sort();
}

/** A plain, JSON-serialisable view of the state (for `/debug/state`); O(n log n), not for hot paths. */
export function stateToJSON(state: ClusterState): {
  clock: number;
  tasks: TaskEntry[];
  taskDefinitions: TaskDefinitionView[];
  containerInstances: ContainerInstanceView[];
  tombstones: Tombstone[];
  services: Record<string, string[]>;
} {
  const byKey = <V>(map: ReadonlyMap<string, V>): V[] => [...map.keys()].sort().map((k) => map.get(k) as V);
  const services: Record<string, string[]> = {};
  const tasks = new Map<string, TaskEntry>();
  const tombstones = new Map<string, Tombstone>();
  for (const service of state.services) {
    for (const [arn, entry] of service.tasks) tasks.set(arn, entry);
    for (const [arn, tombstone] of service.tombstones) {
      if (tombstone.expiresAt > state.clock) tombstones.set(arn, tombstone);
    }
    if (service.name === undefined || service.forgotten) continue;
    const names = services[service.clusterArn] ?? [];
    names.push(service.name);
    services[service.clusterArn] = names;
  }
  const sortedServices: Record<string, string[]> = {};
  for (const cluster of Object.keys(services).sort()) {
    sortedServices[cluster] = [...new Set(services[cluster])].sort();
  }
  return {
    clock: state.clock,
    tasks: byKey(tasks),
    taskDefinitions: byKey(state.taskDefinitions),
    containerInstances: byKey(state.containerInstances),
    tombstones: byKey(tombstones),
    services: sortedServices,
  };
}
