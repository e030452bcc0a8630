/**
 * Fixture builders for the domain types (traefik's `ecs/builder_test.go` habit): a sensible
 * default for everything, and overrides for what a test is about. Passing `undefined` for an
 * optional field removes it (so `aTask({ group: undefined })` is a task without a group).
 *
 * Defaults: cluster `default` in us-east-1 / account 111122223333, service `web`, task definition
 * `web:1` in awsvpc mode with one container `web` listening on TCP 8080, a RUNNING/RUNNING task at
 * version 3 with ENI address 10.0.1.10, observed by an event at T0.
 */
import { createHash } from 'node:crypto';
import type {
  ClusterSnapshotEvent,
  ContainerDefinitionView,
  ContainerInstanceObservedEvent,
  ContainerInstanceView,
  ContainerSnapshot,
  IgnoredEvent,
  NetworkBinding,
  PortMappingView,
  ServiceDescribedEvent,
  ServicesObservedEvent,
  TaskDefinitionObservedEvent,
  TaskDefinitionView,
  TaskObservedEvent,
  TaskSnapshot,
} from '@ecs-ingress/types';

export const REGION = 'us-east-1';
export const ACCOUNT = '111122223333';
/** A fixed instant (2023-11-14T22:13:20Z) so fixtures are deterministic. */
export const T0 = 1_700_000_000_000;
export const DEFAULT_CLUSTER = 'default';

/** Overrides where `undefined` deletes the field (works under exactOptionalPropertyTypes). */
export type Overrides<T> = { -readonly [K in keyof T]?: T[K] | undefined };

function apply<T extends object>(base: T, overrides: Overrides<T>): T {
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) delete out[key];
    else out[key] = value;
  }
  return out as T;
}

export function clusterArn(name: string = DEFAULT_CLUSTER): string {
  return `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/${name}`;
}

/** A task ARN (new format: `task/<cluster>/<id>`); `id` is padded to look like ECS's 32 hex chars. */
export function taskArn(id: string, cluster: string = DEFAULT_CLUSTER): string {
  return `arn:aws:ecs:${REGION}:${ACCOUNT}:task/${cluster}/${hexId(id)}`;
}

/** `id` padded to ECS's 32 hex digits when it is hex, else a deterministic digest of it. */
function hexId(id: string): string {
  const padded = id.padStart(32, '0');
  return /^[0-9a-f]{32}$/.test(padded) ? padded : createHash('md5').update(id).digest('hex');
}

export function taskDefinitionArn(family = 'web', revision = 1): string {
  return `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/${family}:${revision}`;
}

export function containerInstanceArn(id: string, cluster: string = DEFAULT_CLUSTER): string {
  return `arn:aws:ecs:${REGION}:${ACCOUNT}:container-instance/${cluster}/${hexId(id)}`;
}

export function aBinding(overrides: Overrides<NetworkBinding> = {}): NetworkBinding {
  return apply<NetworkBinding>(
    { bindIP: '0.0.0.0', containerPort: 8080, hostPort: 32768, protocol: 'tcp' },
    overrides,
  );
}

export function aContainer(overrides: Overrides<ContainerSnapshot> = {}): ContainerSnapshot {
  return apply<ContainerSnapshot>({ name: 'web', lastStatus: 'RUNNING', networkBindings: [] }, overrides);
}

/**
 * A task snapshot. `serviceName` follows `group` unless overridden: `aTask({ group: 'service:api' })`
 * gets `serviceName: 'api'`; `aTask({ group: 'family:batch' })` gets none.
 */
export function aTask(overrides: Overrides<TaskSnapshot> = {}): TaskSnapshot {
  const base: TaskSnapshot = {
    taskArn: taskArn('1'),
    clusterArn: clusterArn(),
    taskDefinitionArn: taskDefinitionArn(),
    group: 'service:web',
    serviceName: 'web',
    lastStatus: 'RUNNING',
    desiredStatus: 'RUNNING',
    version: 3,
    launchType: 'FARGATE',
    eniPrivateIpv4Address: '10.0.1.10',
    containers: [aContainer()],
    updatedAt: T0,
    observedAt: T0,
    source: 'event',
  };
  const derived: Overrides<TaskSnapshot> = { ...overrides };
  if ('group' in overrides && !('serviceName' in overrides)) {
    const group = overrides.group;
    derived.serviceName = group?.startsWith('service:') ? group.slice('service:'.length) : undefined;
  }
  return apply(base, derived);
}

/** A task as DescribeTasks reports it (source `described`), with a health status. */
export function aDescribedTask(overrides: Overrides<TaskSnapshot> = {}): TaskSnapshot {
  return aTask({ source: 'described', healthStatus: 'UNKNOWN', ...overrides });
}

/** A bridge-mode task on a container instance, its container bound to a dynamic host port. */
export function aBridgeTask(overrides: Overrides<TaskSnapshot> = {}): TaskSnapshot {
  return aTask({
    launchType: 'EC2',
    eniPrivateIpv4Address: undefined,
    containerInstanceArn: containerInstanceArn('a'),
    containers: [aContainer({ networkBindings: [aBinding()] })],
    ...overrides,
  });
}

export function aPortMapping(overrides: Overrides<PortMappingView> = {}): PortMappingView {
  return apply<PortMappingView>({ containerPort: 8080, protocol: 'tcp' }, overrides);
}

export function aContainerDefinition(
  overrides: Overrides<ContainerDefinitionView> = {},
): ContainerDefinitionView {
  return apply<ContainerDefinitionView>(
    { name: 'web', portMappings: [aPortMapping()], dockerLabels: {}, hasHealthCheck: false },
    overrides,
  );
}

export function aTaskDefinition(overrides: Overrides<TaskDefinitionView> = {}): TaskDefinitionView {
  return apply<TaskDefinitionView>(
    {
      taskDefinitionArn: taskDefinitionArn(),
      family: 'web',
      revision: 1,
      networkMode: 'awsvpc',
      containers: [aContainerDefinition()],
    },
    overrides,
  );
}

export function aContainerInstance(overrides: Overrides<ContainerInstanceView> = {}): ContainerInstanceView {
  return apply<ContainerInstanceView>(
    {
      containerInstanceArn: containerInstanceArn('a'),
      ec2InstanceId: 'i-0123456789abcdef0',
      privateIpAddress: '10.0.2.20',
    },
    overrides,
  );
}

// ---- events ----

export function taskEvent(task: TaskSnapshot = aTask(), eventId?: string): TaskObservedEvent {
  return eventId === undefined ? { kind: 'task', task } : { kind: 'task', task, eventId };
}

export function taskDefinitionEvent(
  taskDefinition: TaskDefinitionView = aTaskDefinition(),
  observedAt: number = T0,
): TaskDefinitionObservedEvent {
  return { kind: 'task-definition', taskDefinition, observedAt };
}

export function containerInstanceEvent(
  containerInstance: ContainerInstanceView = aContainerInstance(),
  observedAt: number = T0,
): ContainerInstanceObservedEvent {
  return { kind: 'container-instance', containerInstance, observedAt };
}

export function snapshotEvent(overrides: Overrides<ClusterSnapshotEvent> = {}): ClusterSnapshotEvent {
  return apply<ClusterSnapshotEvent>(
    { kind: 'snapshot', clusterArn: clusterArn(), startedAt: T0, tasks: [] },
    overrides,
  );
}

export function servicesEvent(
  services: readonly string[],
  cluster: string = clusterArn(),
  observedAt: number = T0,
): ServicesObservedEvent {
  return { kind: 'services', clusterArn: cluster, services, observedAt };
}

/** A DescribeServices answer (`service` observation): `name` created at `createdAt`. */
export function serviceEvent(
  name: string,
  createdAt: number,
  cluster: string = DEFAULT_CLUSTER,
  observedAt: number = T0,
): ServiceDescribedEvent {
  return {
    kind: 'service',
    service: {
      serviceArn: `arn:aws:ecs:${REGION}:${ACCOUNT}:service/${cluster}/${name}`,
      clusterArn: clusterArn(cluster),
      serviceName: name,
      createdAt,
    },
    observedAt,
  };
}

export function ignoredEvent(detailType = 'ECS Service Action', observedAt: number = T0): IgnoredEvent {
  return { kind: 'ignored', detailType, reason: 'not a task state change', observedAt };
}
