import type {
  ContainerInstanceView,
  Endpoint,
  TaskDefinitionView,
  TaskSnapshot,
  Upstream,
} from '@ecs-ingress/types';
import { ipv4ToNumber, isValidIpv4 } from './ipv4.js';
import { mapForEach, mapGet } from './persistent-map.js';
import { type PortSelection, selectPort } from './select-port.js';
import { type ClusterState, serviceNameOf, type TaskEntry, type TaskHealth } from './state.js';

/** Why a task is, or is not, a server of its upstream. */
export type AdmissionReason =
  | 'admitted'
  /** Standalone task (group `family:…` or none), ignored unless `includeStandaloneTasks`. */
  | 'not-a-service'
  /** desiredStatus STOPPED: leaves the upstream at once, while it drains. */
  | 'desired-stopped'
  /** lastStatus (or desiredStatus) is not RUNNING; an IP alone admits nothing. */
  | 'not-running'
  /** The task definition is not in the store yet (the poller fetches it). */
  | 'no-task-definition'
  | 'network-mode-none'
  /** `ecs-ingress.port` is not an integer 1..65535. */
  | 'invalid-port-label'
  /** `ecs-ingress.container` names a container the task definition does not have. */
  | 'unknown-container'
  /** No TCP port to route to (no mapping, or no host port binding in bridge mode). */
  | 'no-port'
  /** The task definition declares a health check and no description reported HEALTHY yet. */
  | 'awaiting-health'
  /** The last description reported UNHEALTHY. */
  | 'unhealthy'
  /** bridge/host: no container instance ARN, or the instance is not in the store yet. */
  | 'no-container-instance'
  | 'no-address'
  /** The address is not a strict dotted IPv4. */
  | 'invalid-address';

export interface Admission {
  readonly admitted: boolean;
  readonly reason: AdmissionReason;
  /** The upstream the task belongs to, when it belongs to one. */
  readonly upstream?: string;
  /** Present when admitted. */
  readonly endpoint?: Endpoint;
  /** Human-readable detail for logs (e.g. the bad label value). */
  readonly detail?: string;
}

export interface Derivation {
  /** One per known service (plus any service a task names), sorted by name; servers sorted. */
  readonly upstreams: Upstream[];
  /** The verdict for every task considered (all live tasks of the selected clusters). */
  readonly admissions: Map<string, Admission>;
  /** RUNNING tasks with a health check that are not HEALTHY yet: the health checker describes these. Sorted. */
  readonly awaitingHealth: string[];
  /** Tasks that should route but whose address or port cannot be resolved. Sorted. */
  readonly unresolved: string[];
  /** Task definition ARNs that routable tasks need and the store lacks (for the poller). Sorted. */
  readonly missingTaskDefinitions: string[];
  /** Container instance ARNs that routable tasks need and the store lacks (for the poller). Sorted. */
  readonly missingContainerInstances: string[];
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

/**
 * Derives the NGINX upstreams from the state. Pure and O(tasks + services log services). The
 * rules are DESIGN.md "Upstream derivation"; the per-task verdicts are in `admissions`.
 */
export function deriveUpstreams(state: ClusterState, options: DeriveOptions = {}): Derivation {
  const filter = options.clusterArn;
  const servers = new Map<string, Endpoint[]>();
  for (const [cluster, services] of Object.entries(state.services)) {
    if (!matchesClusterFilter(cluster, filter)) continue;
    mapForEach(services, (name) => {
      if (!servers.has(name)) servers.set(name, []);
    });
  }

  const admissions = new Map<string, Admission>();
  const awaitingHealth: string[] = [];
  const unresolved: string[] = [];
  const missingTaskDefinitions = new Set<string>();
  const missingContainerInstances = new Set<string>();
  // Per-call caches: the persistent map hashes the key on each lookup; many tasks share these.
  const taskDefinitions = new Map<string, TaskDefinitionView | undefined>();
  const instances = new Map<string, ContainerInstanceView | undefined>();
  const lookups: Lookups = {
    taskDefinition(arn) {
      if (taskDefinitions.has(arn)) return taskDefinitions.get(arn);
      const found = mapGet(state.taskDefinitions, arn);
      taskDefinitions.set(arn, found);
      return found;
    },
    containerInstance(arn) {
      if (instances.has(arn)) return instances.get(arn);
      const found = mapGet(state.containerInstances, arn);
      instances.set(arn, found);
      return found;
    },
  };

  mapForEach(state.tasks, (entry, arn) => {
    const task = entry.task;
    if (filter !== undefined && !matchesClusterFilter(task.clusterArn, filter)) return;
    const admission = cachedAdmission(state, entry, options.includeStandaloneTasks === true, lookups);
    admissions.set(arn, admission);
    const upstream = admission.upstream;
    if (upstream !== undefined) {
      let list = servers.get(upstream);
      if (list === undefined) {
        list = [];
        servers.set(upstream, list);
      }
      if (admission.endpoint !== undefined) list.push(admission.endpoint);
    }
    const reason = admission.reason;
    if (reason === 'admitted') return;
    if (reason === 'awaiting-health' || reason === 'unhealthy') awaitingHealth.push(arn);
    else if (UNRESOLVED.has(reason)) {
      unresolved.push(arn);
      if (reason === 'no-task-definition') missingTaskDefinitions.add(task.taskDefinitionArn);
      else if (reason === 'no-container-instance' && task.containerInstanceArn !== undefined) {
        missingContainerInstances.add(task.containerInstanceArn);
      }
    }
  });

  const upstreams: Upstream[] = [];
  for (const name of [...servers.keys()].sort()) {
    upstreams.push({ name, servers: sortAndDedupe(servers.get(name)!) });
  }
  return {
    upstreams,
    admissions,
    awaitingHealth: awaitingHealth.sort(),
    unresolved: unresolved.sort(),
    missingTaskDefinitions: [...missingTaskDefinitions].sort(),
    missingContainerInstances: [...missingContainerInstances].sort(),
  };
}

/**
 * Verdicts of earlier derivations, per task entry object. A verdict depends only on the entry
 * (immutable; a new observation makes a new entry), the task definitions and the container
 * instances; those two maps change rarely (a new revision, a new instance), so while both are the
 * same objects the verdict is reused, and a steady-state derivation does no per-task resolution.
 */
interface CachedAdmission {
  readonly taskDefinitions: ClusterState['taskDefinitions'];
  readonly containerInstances: ClusterState['containerInstances'];
  readonly includeStandalone: boolean;
  readonly admission: Admission;
}
const admissionCache = new WeakMap<TaskEntry, CachedAdmission>();

function cachedAdmission(
  state: ClusterState,
  entry: TaskEntry,
  includeStandalone: boolean,
  lookups: Lookups,
) {
  const cached = admissionCache.get(entry);
  if (
    cached !== undefined &&
    cached.taskDefinitions === state.taskDefinitions &&
    cached.containerInstances === state.containerInstances &&
    cached.includeStandalone === includeStandalone
  ) {
    return cached.admission;
  }
  const admission = admitTask(entry, includeStandalone, lookups);
  admissionCache.set(entry, {
    taskDefinitions: state.taskDefinitions,
    containerInstances: state.containerInstances,
    includeStandalone,
    admission,
  });
  return admission;
}

interface Lookups {
  taskDefinition(arn: string): TaskDefinitionView | undefined;
  containerInstance(arn: string): ContainerInstanceView | undefined;
}

function upstreamOf(task: TaskSnapshot, includeStandalone: boolean): string | undefined {
  const service = serviceNameOf(task);
  if (service !== undefined || !includeStandalone) return service;
  const group = task.group;
  if (group === undefined) return undefined;
  const colon = group.indexOf(':');
  const name = colon >= 0 ? group.slice(colon + 1) : group;
  return name === '' ? undefined : name;
}

/** The verdict for one task. */
function admitTask(entry: TaskEntry, includeStandalone: boolean, lookups: Lookups): Admission {
  const task = entry.task;
  const upstream = upstreamOf(task, includeStandalone);
  if (upstream === undefined) return { admitted: false, reason: 'not-a-service' };
  const no = (reason: AdmissionReason, detail?: string): Admission =>
    detail === undefined
      ? { admitted: false, reason, upstream }
      : { admitted: false, reason, upstream, detail };

  if (task.desiredStatus === 'STOPPED') return no('desired-stopped');
  if (task.lastStatus !== 'RUNNING' || task.desiredStatus !== 'RUNNING') {
    return no('not-running', `lastStatus ${task.lastStatus}, desiredStatus ${task.desiredStatus}`);
  }
  const taskDefinition = lookups.taskDefinition(task.taskDefinitionArn);
  if (taskDefinition === undefined) return no('no-task-definition', task.taskDefinitionArn);
  const selection = selectPort(taskDefinition);
  if (!selection.ok) return no(selection.reason, selection.detail);

  if (selection.hasHealthCheck) {
    const health = healthVerdict(entry.health, selection.container.name);
    if (health !== 'HEALTHY') return no(health === 'UNHEALTHY' ? 'unhealthy' : 'awaiting-health');
  }

  const resolved = resolveEndpoint(task, taskDefinition, selection, lookups);
  if (typeof resolved === 'string') return no(resolved);
  if ('reason' in resolved) return no(resolved.reason, resolved.detail);
  return { admitted: true, reason: 'admitted', upstream, endpoint: resolved };
}

/**
 * HEALTHY when the last description says the task, or the routed container, is HEALTHY, unless
 * either says UNHEALTHY (the task status aggregates the essential containers; an unhealthy one
 * will get the task replaced). Anything else is still waiting.
 */
function healthVerdict(
  health: TaskHealth | undefined,
  container: string,
): 'HEALTHY' | 'UNHEALTHY' | 'UNKNOWN' {
  if (health === undefined) return 'UNKNOWN';
  const own = health.containers[container];
  if (health.taskStatus === 'UNHEALTHY' || own === 'UNHEALTHY') return 'UNHEALTHY';
  if (health.taskStatus === 'HEALTHY' || own === 'HEALTHY') return 'HEALTHY';
  return 'UNKNOWN';
}

type Unresolved = { reason: AdmissionReason; detail: string };

function checkedAddress(address: string | undefined, what: string): string | Unresolved {
  if (address === undefined || address === '') return { reason: 'no-address', detail: `no ${what}` };
  if (!isValidIpv4(address))
    return { reason: 'invalid-address', detail: `${what} ${JSON.stringify(address)}` };
  return address;
}

/** Address and port by the task definition's network mode (never by launch type). */
function resolveEndpoint(
  task: TaskSnapshot,
  taskDefinition: TaskDefinitionView,
  selection: PortSelection,
  lookups: Lookups,
): Endpoint | Unresolved | AdmissionReason {
  const containerName = selection.container.name;
  if (taskDefinition.networkMode === 'awsvpc') {
    // Events carry no port for awsvpc: the task definition's container port is the port on the ENI.
    let address = task.eniPrivateIpv4Address;
    if (address === undefined || address === '') {
      const own = task.containers.find((c) => c.name === containerName)?.privateIpv4Address;
      address = own ?? task.containers.find((c) => c.privateIpv4Address !== undefined)?.privateIpv4Address;
    }
    const checked = checkedAddress(address, 'ENI private IPv4 address');
    if (typeof checked !== 'string') return checked;
    return { address: checked, port: selection.containerPort, taskArn: task.taskArn };
  }

  // bridge and host: the container instance's private IP.
  const instanceArn = task.containerInstanceArn;
  if (instanceArn === undefined || instanceArn === '') return 'no-container-instance';
  const instance = lookups.containerInstance(instanceArn);
  if (instance === undefined) return { reason: 'no-container-instance', detail: instanceArn };
  const checked = checkedAddress(instance.privateIpAddress, `private IP of ${instanceArn}`);
  if (typeof checked !== 'string') return checked;

  const binding = task.containers
    .find((c) => c.name === containerName)
    ?.networkBindings.find(
      (b) =>
        b.containerPort === selection.containerPort &&
        (b.protocol === undefined || b.protocol.toLowerCase() === 'tcp') &&
        b.hostPort !== undefined &&
        b.hostPort >= 1 &&
        b.hostPort <= 65_535,
    );
  let port = binding?.hostPort;
  if (port === undefined) {
    if (taskDefinition.networkMode === 'host') {
      // In host mode the container listens on the host: hostPort equals containerPort.
      port = selection.containerPort;
    } else {
      // bridge: a static hostPort from the task definition is authoritative; 0/absent is dynamic.
      const fixed = selection.mapping?.hostPort;
      if (fixed === undefined || fixed < 1 || fixed > 65_535) {
        return {
          reason: 'no-port',
          detail: `no host port binding for ${containerName}:${selection.containerPort}`,
        };
      }
      port = fixed;
    }
  }
  return { address: checked, port, taskArn: task.taskArn };
}

/** Sorted by numeric address, then port, then task ARN; one server per address:port. */
function sortAndDedupe(list: Endpoint[]): Endpoint[] {
  if (list.length < 2) return list;
  const keyed = list.map((e) => ({ e, ip: ipv4ToNumber(e.address) }));
  keyed.sort(
    (a, b) =>
      a.ip - b.ip ||
      a.e.port - b.e.port ||
      (a.e.taskArn < b.e.taskArn ? -1 : a.e.taskArn > b.e.taskArn ? 1 : 0),
  );
  const out: Endpoint[] = [];
  for (const { e } of keyed) {
    const last = out[out.length - 1];
    if (last !== undefined && last.address === e.address && last.port === e.port) continue;
    out.push(e);
  }
  return out;
}
