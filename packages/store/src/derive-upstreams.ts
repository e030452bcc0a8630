import type { ContainerInstanceView, TaskDefinitionView, TaskSnapshot, Upstream } from '@ecs-ingress/types';
import { type Admission, type AdmissionReason, admitTask, type Lookups } from './admit-task.js';
import { deriveServiceRoutes, type ServiceRouteSource } from './route-sources.js';
import { type PortSelectionResult, selectPort } from './select-port.js';
import { type Merged, mergeParts, sameParts, sortAndDedupe, sortKeyOf, type Verdict } from './servers.js';
import type { ClusterState, ServiceState } from './state.js';

export type { Admission, AdmissionReason } from './admit-task.js';

export interface Derivation {
  /** One per known service (plus any service a task names), sorted by name; servers sorted. */
  readonly upstreams: Upstream[];
  /** The verdict for every task considered (all live tasks of the selected clusters). */
  readonly admissions: Map<string, Admission>;
  /** RUNNING tasks with a health check that are not HEALTHY yet: the health checker describes these. Sorted. */
  readonly awaitingHealth: string[];
  /** Tasks that should route but whose address or port cannot be resolved. Sorted. */
  readonly unresolved: string[];
  /** Task definition ARNs that routable tasks need and the store lacks (for the reference resolver). Sorted. */
  readonly missingTaskDefinitions: string[];
  /**
   * Container instance ARNs that routable tasks need and the store lacks, or holds without an EC2
   * address (for the reference resolver). Sorted.
   */
  readonly missingContainerInstances: string[];
  /**
   * Names of the services that publish routes (`routeSources`) whose ECS `createdAt` the store
   * lacks (for the reference resolver: DescribeServices, once per service). Sorted.
   */
  readonly missingServices: string[];
  /**
   * Services whose newest admitted task's labels publish routes (route-sources.ts), in the order
   * of `state.services`; each object is kept while the service's result is.
   */
  readonly routeSources: readonly ServiceRouteSource[];
}

export interface DeriveOptions {
  /** Only this cluster: a full ARN, or a cluster name (matches `…:cluster/<name>`). Default: all. */
  readonly clusterArn?: string;
  /**
   * Also route standalone tasks (group `family:<name>` → upstream `<name>`). Default false: tasks
   * not started by a service are ignored, as DESIGN.md requires.
   */
  readonly includeStandaloneTasks?: boolean;
}

/** Reasons counted as "should route but cannot be resolved". */
const UNRESOLVED: ReadonlySet<AdmissionReason> = new Set<AdmissionReason>([
  'no-task-definition',
  'invalid-port-label',
  'unknown-container',
  'no-port',
  'no-container-instance',
  'no-address',
  'invalid-address',
]);

/** True when `clusterArn` is selected by the filter (an ARN, or a bare cluster name). */
export function matchesClusterFilter(clusterArn: string, filter: string | undefined): boolean {
  if (filter === undefined || clusterArn === filter) return true;
  return !filter.includes(':') && clusterArn.endsWith(`:cluster/${filter}`);
}

/** Derives from one state, from scratch (no memory of earlier derivations). */
export function deriveUpstreams(state: ClusterState, options: DeriveOptions = {}): Derivation {
  return createUpstreamDeriver(options)(state);
}

/** A derivation function with its own memory: successive states cost what changed in them. */
export type UpstreamDeriver = (state: ClusterState) => Derivation;

/**
 * Derives the NGINX upstreams from the state (DESIGN.md "Upstream derivation"; the per-task
 * verdicts are in `admissions`, built on first access only).
 *
 * The result of each service is remembered by the service's object identity: the store's immer
 * updates keep the object of every service a batch did not touch, so a derivation after a change
 * to one task re-derives that service only, hands back the same `Upstream` objects for the others
 * (renderers remember their text per `Upstream` object), and, when no service appeared, patches
 * the last sorted upstream list in place instead of sorting again. A remembered result also
 * records the task definitions and container instances it read, and is redone when one of those
 * changed. The memory is this function's own (no module state), held weakly by service object.
 */
export function createUpstreamDeriver(options: DeriveOptions = {}): UpstreamDeriver {
  const filter = options.clusterArn;
  const includeStandalone = options.includeStandaloneTasks === true;
  const memo = new WeakMap<ServiceState, ServiceResult>();
  const names: Naming = { merged: new Map(), order: [] };
  let previous: Previous | undefined;

  return (state) => {
    // Selections are per task definition object; shared by the services derived in this call.
    const selections = new Map<TaskDefinitionView, PortSelectionResult>();
    const count = state.services.length;
    const aligned = previous !== undefined && previous.services.length === count ? previous : undefined;
    const results: (ServiceResult | undefined)[] = new Array(count);
    const changed: number[] = [];
    for (let i = 0; i < count; i++) {
      const service = state.services[i] as ServiceState;
      if (!matchesClusterFilter(service.clusterArn, filter)) continue;
      // The same service object at the same place as last time: its result stands.
      const before = aligned?.services[i] === service ? aligned.results[i] : undefined;
      let result = before ?? memo.get(service);
      if (result === undefined || !stillValid(result, state)) {
        result = deriveService(service, state, includeStandalone, selections);
        memo.set(service, result);
      }
      results[i] = result;
      if (result !== aligned?.results[i]) changed.push(i);
    }
    const assembled =
      (aligned !== undefined ? patch(aligned, results, changed) : undefined) ?? assemble(results, names);
    previous = { services: state.services, results, ...assembled };
    const upstreams = assembled.upstreams.slice();

    const awaitingHealth: string[] = [];
    const unresolved: string[] = [];
    const missingTaskDefinitions = new Set<string>();
    const missingContainerInstances = new Set<string>();
    const routeSources: ServiceRouteSource[] = [];
    const missingServices: string[] = [];
    for (const result of results) {
      if (result?.route !== undefined) {
        routeSources.push(result.route);
        if (result.route.createdAt === undefined) missingServices.push(result.route.service);
      }
      // Almost every service has nothing to report: skip the loops then (5,000 services).
      if (result === undefined || (result.awaitingHealth.length === 0 && result.unresolved.length === 0))
        continue;
      for (const arn of result.awaitingHealth) awaitingHealth.push(arn);
      for (const arn of result.unresolved) unresolved.push(arn);
      for (const arn of result.missingTaskDefinitions) missingTaskDefinitions.add(arn);
      for (const arn of result.missingContainerInstances) missingContainerInstances.add(arn);
    }
    let admissions: Map<string, Admission> | undefined;
    return {
      upstreams,
      get admissions() {
        if (admissions === undefined) {
          admissions = new Map();
          for (const result of results) {
            if (result === undefined) continue;
            for (const verdict of result.verdicts) admissions.set(verdict.task.taskArn, verdict.admission);
          }
        }
        return admissions;
      },
      awaitingHealth: awaitingHealth.sort(),
      unresolved: unresolved.sort(),
      missingTaskDefinitions: [...missingTaskDefinitions].sort(),
      missingContainerInstances: [...missingContainerInstances].sort(),
      missingServices: [...new Set(missingServices)].sort(),
      routeSources,
    };
  };
}

/** The last derivation, for the next one to start from. */
interface Previous {
  readonly services: ClusterState['services'];
  /** Aligned with `services`; `undefined` for services the cluster filter leaves out. */
  readonly results: readonly (ServiceResult | undefined)[];
  readonly upstreams: readonly Upstream[];
  /** Position in `upstreams` of each name only one service gives (shared names are absent). */
  readonly positions: ReadonlyMap<string, number>;
}

/** What `assemble` keeps between derivations: unions of shared names, and the sorted names. */
interface Naming {
  merged: Map<string, Merged>;
  order: string[];
}

type Assembled = Pick<Previous, 'upstreams' | 'positions'>;

/**
 * The last upstreams with the changed services' own replaced in place: possible when the changed
 * services give the same names as before, each given by no other service. Otherwise `undefined`.
 */
function patch(
  previous: Previous,
  results: readonly (ServiceResult | undefined)[],
  changed: readonly number[],
): Assembled | undefined {
  if (changed.length === 0) return previous;
  if (changed.length > 64) return undefined; // as cheap to assemble again
  const upstreams = previous.upstreams.slice();
  for (const i of changed) {
    const before = previous.results[i]?.upstreams;
    const after = results[i]?.upstreams;
    if (before === undefined || after === undefined || before.length !== after.length) return undefined;
    for (let k = 0; k < after.length; k++) {
      const upstream = after[k] as Upstream;
      const position = previous.positions.get(upstream.name);
      if (position === undefined || (before[k] as Upstream).name !== upstream.name) return undefined;
      upstreams[position] = upstream;
    }
  }
  return { upstreams, positions: previous.positions };
}

/** Upstreams by name, sorted: one service's, or the union of a name several services give. */
function assemble(results: readonly (ServiceResult | undefined)[], naming: Naming): Assembled {
  const byName = new Map<string, Upstream[]>();
  for (const result of results) {
    if (result === undefined) continue;
    for (const upstream of result.upstreams) {
      const list = byName.get(upstream.name);
      if (list === undefined) byName.set(upstream.name, [upstream]);
      else list.push(upstream);
    }
  }
  const order = sameNames(naming.order, byName) ? naming.order : [...byName.keys()].sort(byCodeUnit);
  naming.order = order;
  const merged = new Map<string, Merged>();
  const upstreams: Upstream[] = [];
  const positions = new Map<string, number>();
  for (const name of order) {
    const parts = byName.get(name) as Upstream[];
    if (parts.length === 1) {
      positions.set(name, upstreams.length);
      upstreams.push(parts[0] as Upstream);
      continue;
    }
    let entry = naming.merged.get(name);
    if (entry === undefined || !sameParts(entry.parts, parts)) entry = mergeParts(name, parts);
    merged.set(name, entry);
    upstreams.push(entry.upstream);
  }
  naming.merged = merged;
  return { upstreams, positions };
}

/** What one service contributes to a derivation. */
interface ServiceResult {
  /** One per upstream name its tasks belong to (a service: exactly its own, even when empty). */
  readonly upstreams: readonly Upstream[];
  readonly verdicts: readonly Verdict[];
  readonly awaitingHealth: readonly string[];
  readonly unresolved: readonly string[];
  readonly missingTaskDefinitions: readonly string[];
  readonly missingContainerInstances: readonly string[];
  /** Present when the service publishes routes from its labels. */
  readonly route?: ServiceRouteSource;
  /** The task definition ARNs the verdicts read and did not find. */
  readonly awaitedTaskDefinitions: readonly string[];
  /** What the verdicts read: ARN → the object found (or undefined). */
  readonly containerInstances: ReadonlyMap<string, ContainerInstanceView | undefined>;
  /** The state collections the reads were last checked against (a cheap "nothing changed"). */
  checkedTaskDefinitions: ClusterState['taskDefinitions'];
  checkedContainerInstances: ClusterState['containerInstances'];
}

/**
 * True when every task definition and container instance the result read is still the same. The
 * store only ever adds task definitions (apply-event.ts keeps the first copy of an ARN: ECS never
 * changes a registered revision), so only one the result found missing can have changed: a new
 * revision costs a look at those, not at every service's reads.
 */
function stillValid(result: ServiceResult, state: ClusterState): boolean {
  if (result.checkedTaskDefinitions !== state.taskDefinitions) {
    for (const arn of result.awaitedTaskDefinitions) if (state.taskDefinitions.has(arn)) return false;
    result.checkedTaskDefinitions = state.taskDefinitions;
  }
  if (result.checkedContainerInstances !== state.containerInstances) {
    for (const [arn, seen] of result.containerInstances) {
      if (state.containerInstances.get(arn) !== seen) return false;
    }
    result.checkedContainerInstances = state.containerInstances;
  }
  return true;
}

function deriveService(
  service: ServiceState,
  state: ClusterState,
  includeStandalone: boolean,
  selections: Map<TaskDefinitionView, PortSelectionResult>,
): ServiceResult {
  const taskDefinitions = new Map<string, TaskDefinitionView | undefined>();
  const containerInstances = new Map<string, ContainerInstanceView | undefined>();
  const lookups: Lookups = {
    taskDefinition(arn) {
      if (taskDefinitions.has(arn)) return taskDefinitions.get(arn);
      const found = state.taskDefinitions.get(arn);
      taskDefinitions.set(arn, found);
      return found;
    },
    containerInstance(arn) {
      if (containerInstances.has(arn)) return containerInstances.get(arn);
      const found = state.containerInstances.get(arn);
      containerInstances.set(arn, found);
      return found;
    },
    selection(taskDefinition) {
      let selection = selections.get(taskDefinition);
      if (selection === undefined) {
        selection = selectPort(taskDefinition);
        selections.set(taskDefinition, selection);
      }
      return selection;
    },
  };

  // Admitted verdicts per upstream name; a service always has its own upstream, even empty.
  const groups = new Map<string, Verdict[]>();
  if (service.name !== undefined && !service.forgotten) groups.set(service.name, []);
  const verdicts: Verdict[] = [];
  const awaitingHealth: string[] = [];
  const unresolved: string[] = [];
  const missingTaskDefinitions: string[] = [];
  const missingContainerInstances: string[] = [];
  for (const entry of service.tasks.values()) {
    const task = entry.task;
    const admission = admitTask(entry, includeStandalone, lookups);
    const endpoint = admission.endpoint;
    const verdict: Verdict = {
      task,
      admission,
      sortKey: sortKeyOf(endpoint),
    };
    verdicts.push(verdict);
    if (admission.upstream !== undefined) {
      let group = groups.get(admission.upstream);
      if (group === undefined) {
        group = [];
        groups.set(admission.upstream, group);
      }
      if (endpoint !== undefined) group.push(verdict);
    }
    const reason = admission.reason;
    if (reason === 'admitted') continue;
    if (reason === 'awaiting-health' || reason === 'unhealthy') awaitingHealth.push(task.taskArn);
    else if (UNRESOLVED.has(reason)) {
      unresolved.push(task.taskArn);
      if (reason === 'no-task-definition') missingTaskDefinitions.push(task.taskDefinitionArn);
      else if (reason === 'no-container-instance' && task.containerInstanceArn !== undefined) {
        missingContainerInstances.push(task.containerInstanceArn);
      } else if (reason === 'no-address' && lacksInstanceAddress(task, lookups)) {
        missingContainerInstances.push(task.containerInstanceArn as string);
      }
    }
  }
  const upstreams: Upstream[] = [];
  for (const [name, list] of groups) upstreams.push({ name, servers: sortAndDedupe(list) });
  const routes =
    service.name === undefined || service.forgotten
      ? undefined
      : deriveServiceRoutes(service.name, service.clusterArn, verdicts, lookups, service.createdAt);
  if (routes !== undefined) upstreams.push(...routes.upstreams);
  return {
    upstreams,
    ...(routes === undefined ? {} : { route: routes.source }),
    verdicts,
    awaitingHealth,
    unresolved,
    missingTaskDefinitions,
    missingContainerInstances,
    awaitedTaskDefinitions: [...taskDefinitions]
      .filter(([, found]) => found === undefined)
      .map(([arn]) => arn),
    containerInstances,
    checkedTaskDefinitions: state.taskDefinitions,
    checkedContainerInstances: state.containerInstances,
  };
}

/** A bridge/host task whose container instance is known without its EC2 address (fetch it again). */
function lacksInstanceAddress(task: TaskSnapshot, lookups: Lookups): boolean {
  const arn = task.containerInstanceArn;
  if (arn === undefined || lookups.taskDefinition(task.taskDefinitionArn)?.networkMode === 'awsvpc')
    return false;
  const instance = lookups.containerInstance(arn);
  return (
    instance !== undefined && (instance.privateIpAddress === undefined || instance.privateIpAddress === '')
  );
}

/** True when `order` holds exactly the keys of `byName` (so it can be reused without sorting). */
function sameNames(order: readonly string[], byName: ReadonlyMap<string, unknown>): boolean {
  if (order.length !== byName.size) return false;
  for (const name of order) if (!byName.has(name)) return false;
  return true;
}

/** Code-unit order, as `Array.prototype.sort` orders strings. */
function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
