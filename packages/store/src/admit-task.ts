/**
 * The verdict for one task: does it route, to which upstream and endpoint, and if not, why
 * (DESIGN.md "Upstream derivation"). Pure; the state is read through `Lookups`.
 */
import type { ContainerInstanceView, Endpoint, TaskDefinitionView, TaskSnapshot } from '@ecs-ingress/types';
import { isBackendIpv4 } from '@ecs-ingress/types';
import type { PortSelection, PortSelectionResult } from './select-port.js';
import { serviceNameOf, type TaskEntry, type TaskHealth } from './state.js';

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

/** How the verdicts read the state (the deriver records what each service read). */
export interface Lookups {
  taskDefinition(arn: string): TaskDefinitionView | undefined;
  containerInstance(arn: string): ContainerInstanceView | undefined;
  /** `selectPort` of a task definition, computed once per derivation. */
  selection(taskDefinition: TaskDefinitionView): PortSelectionResult;
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
export function admitTask(entry: TaskEntry, includeStandalone: boolean, lookups: Lookups): Admission {
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
  const selection = lookups.selection(taskDefinition);
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

export type Unresolved = { reason: AdmissionReason; detail: string };

function checkedAddress(address: string | undefined, what: string): string | Unresolved {
  if (address === undefined || address === '') return { reason: 'no-address', detail: `no ${what}` };
  if (!isBackendIpv4(address))
    return { reason: 'invalid-address', detail: `${what} ${JSON.stringify(address)}` };
  return address;
}

/** Address and port by the task definition's network mode (never by launch type). */
export function resolveEndpoint(
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
