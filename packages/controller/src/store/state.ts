import type {
  ContainerInstanceView,
  HealthStatus,
  TaskDefinitionView,
  TaskSnapshot,
} from '@ecs-ingress/types';
import { emptyMap, mapForEach, mapGet, mapKeys, mapValues, type PersistentMap } from './persistent-map.js';

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
 * The store's whole state: immutable and structurally shared, so a reader may keep any version
 * for as long as it likes. Everything is keyed by full ARN; all clusters live side by side.
 */
export interface ClusterState {
  /** Live tasks (everything not STOPPED), by task ARN. */
  readonly tasks: PersistentMap<TaskEntry>;
  /** Task definitions by ARN; immutable in ECS, so cached forever. */
  readonly taskDefinitions: PersistentMap<TaskDefinitionView>;
  /** Container instances by ARN (→ EC2 instance → private IP). */
  readonly containerInstances: PersistentMap<ContainerInstanceView>;
  /** Removed tasks by ARN, until `expiresAt`. */
  readonly tombstones: PersistentMap<Tombstone>;
  /**
   * Service names known, per cluster ARN (map key and value are the name). A service once listed
   * keeps its upstream (with the DOWN placeholder when empty), so a user's `proxy_pass` never
   * points at a missing upstream; see `listedServices` for names only events named.
   */
  readonly services: Readonly<Record<string, PersistentMap<string>>>;
  /**
   * The names of `services` that an API listing (ListServices, in a snapshot) ever named, per
   * cluster: those are kept forever. A name learned only from task events is forgotten by the
   * first listing that does not name it while it has no live task, so a forged or stray event
   * cannot leave an upstream behind for good.
   */
  readonly listedServices: Readonly<Record<string, PersistentMap<string>>>;
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

/** The state before any event. */
export function emptyState(): ClusterState {
  return Object.freeze({
    tasks: emptyMap<TaskEntry>(),
    taskDefinitions: emptyMap<TaskDefinitionView>(),
    containerInstances: emptyMap<ContainerInstanceView>(),
    tombstones: emptyMap<Tombstone>(),
    services: Object.freeze({}),
    listedServices: Object.freeze({}),
    clock: 0,
    nextTombstoneSweepAt: 0,
  });
}

/** The entry of a live task, or `undefined`. */
export function getTask(state: ClusterState, taskArn: string): TaskEntry | undefined {
  return mapGet(state.tasks, taskArn);
}

/** All live task entries (hash order). */
export function listTasks(state: ClusterState): TaskEntry[] {
  return mapValues(state.tasks);
}

/** A task definition by ARN, or `undefined`. */
export function getTaskDefinition(state: ClusterState, arn: string): TaskDefinitionView | undefined {
  return mapGet(state.taskDefinitions, arn);
}

/** A container instance by ARN, or `undefined`. */
export function getContainerInstance(state: ClusterState, arn: string): ContainerInstanceView | undefined {
  return mapGet(state.containerInstances, arn);
}

/** The tombstone of a task ARN if it is still in force at the state's clock. */
export function getTombstone(state: ClusterState, taskArn: string): Tombstone | undefined {
  const tombstone = mapGet(state.tombstones, taskArn);
  return tombstone !== undefined && tombstone.expiresAt > state.clock ? tombstone : undefined;
}

/** Known service names of one cluster, or of all clusters when `clusterArn` is omitted; sorted, unique. */
export function knownServices(state: ClusterState, clusterArn?: string): string[] {
  const names = new Set<string>();
  for (const [cluster, services] of Object.entries(state.services)) {
    if (clusterArn !== undefined && cluster !== clusterArn) continue;
    mapForEach(services, (name) => {
      names.add(name);
    });
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
  const byKey = <V>(map: PersistentMap<V>): V[] => mapKeys(map).map((k) => mapGet(map, k)!);
  const services: Record<string, string[]> = {};
  for (const cluster of Object.keys(state.services).sort()) services[cluster] = knownServices(state, cluster);
  return {
    clock: state.clock,
    tasks: byKey(state.tasks),
    taskDefinitions: byKey(state.taskDefinitions),
    containerInstances: byKey(state.containerInstances),
    tombstones: byKey(state.tombstones).filter((t) => t.expiresAt > state.clock),
    services,
  };
}
