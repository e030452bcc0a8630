import type { ContainerDefinitionView, PortMappingView, TaskDefinitionView } from '@ecs-ingress/types';

/** Docker label naming the container port to route to. */
export const PORT_LABEL = 'ecs-ingress.port';
/** Docker label naming the container to route to. */
export const CONTAINER_LABEL = 'ecs-ingress.container';

/** Which container and container port of a task definition receive traffic. */
export interface PortSelection {
  readonly ok: true;
  readonly container: ContainerDefinitionView;
  /** The port inside the container (awsvpc: the port on the ENI too). */
  readonly containerPort: number;
  /** The TCP port mapping for that port, when the task definition declares one. */
  readonly mapping?: PortMappingView;
  /** True when any container of the task definition declares a health check. */
  readonly hasHealthCheck: boolean;
}

/** Why no container/port could be chosen. */
export interface PortSelectionFailure {
  readonly ok: false;
  readonly reason: 'network-mode-none' | 'invalid-port-label' | 'unknown-container' | 'no-port';
  readonly detail: string;
}

export type PortSelectionResult = PortSelection | PortSelectionFailure;

/**
 * Chooses the container and port of a task definition:
 * 1. The first container definition (in task definition order) carrying `ecs-ingress.container`
 *    or `ecs-ingress.port` decides. `ecs-ingress.container` names the target container (default:
 *    the labelled one); `ecs-ingress.port` (on the labelled container, else on the target) names
 *    the container port, an integer 1..65535. Without a port label, the target's first TCP mapping.
 * 2. Without labels: the first container with a TCP port mapping, its first TCP mapping.
 * A bad label is reported, never silently replaced by a guess.
 */
export function selectPort(taskDefinition: TaskDefinitionView): PortSelectionResult {
  return computeSelection(taskDefinition);
}

function isTcp(mapping: PortMappingView): boolean {
  return (
    mapping.protocol === undefined || mapping.protocol === '' || mapping.protocol.toLowerCase() === 'tcp'
  );
}

function validPort(value: number): boolean {
  return Number.isInteger(value) && value >= 1 && value <= 65_535;
}

function firstTcpMapping(container: ContainerDefinitionView): PortMappingView | undefined {
  return container.portMappings.find((m) => isTcp(m) && validPort(m.containerPort));
}

function computeSelection(taskDefinition: TaskDefinitionView): PortSelectionResult {
  const containers = taskDefinition.containers;
  const hasHealthCheck = containers.some((c) => c.hasHealthCheck);
  if (taskDefinition.networkMode === 'none') {
    return { ok: false, reason: 'network-mode-none', detail: 'network mode none has no reachable port' };
  }
  const labelled = containers.find(
    (c) => c.dockerLabels[PORT_LABEL] !== undefined || c.dockerLabels[CONTAINER_LABEL] !== undefined,
  );
  if (labelled === undefined) {
    for (const container of containers) {
      const mapping = firstTcpMapping(container);
      if (mapping !== undefined) {
        return { ok: true, container, containerPort: mapping.containerPort, mapping, hasHealthCheck };
      }
    }
    return {
      ok: false,
      reason: 'no-port',
      detail: 'no container has a TCP port mapping and no ecs-ingress.port label',
    };
  }

  const targetName = labelled.dockerLabels[CONTAINER_LABEL] ?? labelled.name;
  const target = containers.find((c) => c.name === targetName);
  if (target === undefined) {
    return {
      ok: false,
      reason: 'unknown-container',
      detail: `${CONTAINER_LABEL}=${JSON.stringify(targetName)} names no container of the task definition`,
    };
  }
  const label = labelled.dockerLabels[PORT_LABEL] ?? target.dockerLabels[PORT_LABEL];
  if (label === undefined) {
    const mapping = firstTcpMapping(target);
    if (mapping === undefined) {
      return { ok: false, reason: 'no-port', detail: `container ${targetName} has no TCP port mapping` };
    }
    return { ok: true, container: target, containerPort: mapping.containerPort, mapping, hasHealthCheck };
  }
  // Digits only: Number('') is 0, Number(' 80') is 80 and Number('0x50') is 80; none is a port label.
  const port = /^\d{1,5}$/.test(label) ? Number(label) : Number.NaN;
  if (!validPort(port)) {
    return {
      ok: false,
      reason: 'invalid-port-label',
      detail: `${PORT_LABEL}=${JSON.stringify(label)} is not an integer 1..65535`,
    };
  }
  const mapping = target.portMappings.find((m) => isTcp(m) && m.containerPort === port);
  return mapping === undefined
    ? { ok: true, container: target, containerPort: port, hasHealthCheck }
    : { ok: true, container: target, containerPort: port, mapping, hasHealthCheck };
}
