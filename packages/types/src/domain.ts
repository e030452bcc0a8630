/**
 * Domain types of ecs-ingress. These are small, private shapes: the AWS SDK's own types never
 * cross into the store, the derivation or the renderer (traefik keeps its ECS `ecsInstance`
 * the same way), so the pure code is easy to build fixtures for.
 *
 * All times are epoch milliseconds (UTC).
 */

/** ECS task lifecycle states (`lastStatus` / `desiredStatus`). Unknown future values are kept as strings. */
export type TaskStatus =
  | 'PROVISIONING'
  | 'PENDING'
  | 'ACTIVATING'
  | 'RUNNING'
  | 'DEACTIVATING'
  | 'STOPPING'
  | 'DEPROVISIONING'
  | 'STOPPED'
  | 'DELETED'
  | (string & {});

/** Container / task health as DescribeTasks reports it. */
export type HealthStatus = 'HEALTHY' | 'UNHEALTHY' | 'UNKNOWN';

/** Task definition network mode. `none` tasks are never routable. */
export type NetworkMode = 'awsvpc' | 'bridge' | 'host' | 'none';

/** One port published by a running container (bridge / host mode). */
export interface NetworkBinding {
  /** Port inside the container. */
  readonly containerPort?: number;
  /** Port on the container instance (bridge: often dynamic; host: equals containerPort). */
  readonly hostPort?: number;
  /** `tcp` or `udp`; absent means tcp. */
  readonly protocol?: string;
  /** Address the port is bound to on the host (`0.0.0.0`, `::`). */
  readonly bindIP?: string;
}

/** A container of a task, as an event or DescribeTasks reports it. */
export interface ContainerSnapshot {
  /** Container name (matches a container definition's `name`). */
  readonly name: string;
  /** Container lastStatus. */
  readonly lastStatus?: string;
  /** Health of this container, when DescribeTasks reported it. */
  readonly healthStatus?: HealthStatus;
  /** Published ports (bridge / host network modes). */
  readonly networkBindings: readonly NetworkBinding[];
  /** Private IPv4 of the container's ENI, when reported (awsvpc). */
  readonly privateIpv4Address?: string;
}

/** Where an observation of a task came from; decides how health is trusted. */
export type TaskObservationSource =
  /** An EventBridge `ECS Task State Change` event (no reliable health). */
  | 'event'
  /** A DescribeTasks answer (carries health). */
  | 'described';

/** One observation of one ECS task, normalised. */
export interface TaskSnapshot {
  /** Full task ARN. */
  readonly taskArn: string;
  /** Full cluster ARN. */
  readonly clusterArn: string;
  /** Full task definition ARN including the revision. */
  readonly taskDefinitionArn: string;
  /** `service:<name>` for tasks started by a service, `family:<name>` for standalone tasks. */
  readonly group?: string;
  /** The service name parsed from `group`, when the task belongs to a service. */
  readonly serviceName?: string;
  readonly lastStatus: TaskStatus;
  readonly desiredStatus: TaskStatus;
  /** ECS's monotonically increasing version of the task's state; the store orders by it. */
  readonly version: number;
  /** Task-level health, when DescribeTasks reported it. Events carry none that we trust. */
  readonly healthStatus?: HealthStatus;
  /** EC2 / FARGATE / EXTERNAL. Never used to guess the network mode. */
  readonly launchType?: string;
  /** Container instance the task runs on (EC2 launch type). */
  readonly containerInstanceArn?: string;
  /** `privateIPv4Address` of the task's attachment of type `eni` / `ElasticNetworkInterface`. */
  readonly eniPrivateIpv4Address?: string;
  readonly containers: readonly ContainerSnapshot[];
  readonly stoppedReason?: string;
  readonly stopCode?: string;
  /** ECS's `updatedAt` (or `createdAt` when absent), epoch ms. */
  readonly updatedAt?: number;
  /**
   * ECS's `createdAt` of the task, epoch ms (fixed for the task's life): which admitted task of a
   * service is the newest, whose labels publish its routes.
   */
  readonly createdAt?: number;
  /** When this observation was made: the event's envelope `time`, or the describe/snapshot time. */
  readonly observedAt: number;
  /** Which kind of observation this is. */
  readonly source: TaskObservationSource;
}

/** A port mapping of a container definition. */
export interface PortMappingView {
  readonly containerPort: number;
  /** Fixed host port, when the task definition sets one (bridge / host). */
  readonly hostPort?: number;
  /** `tcp` (default) or `udp`. */
  readonly protocol: string;
}

/** A container definition, reduced to what routing needs. */
export interface ContainerDefinitionView {
  readonly name: string;
  readonly portMappings: readonly PortMappingView[];
  /** Docker labels; `ecs-ingress.port` and `ecs-ingress.container` steer routing. */
  readonly dockerLabels: Readonly<Record<string, string>>;
  /** True when the container definition declares a `healthCheck`. */
  readonly hasHealthCheck: boolean;
}

/** A task definition (immutable once registered, so cached forever). */
export interface TaskDefinitionView {
  readonly taskDefinitionArn: string;
  readonly family: string;
  readonly revision: number;
  readonly networkMode: NetworkMode;
  readonly containers: readonly ContainerDefinitionView[];
}

/** A container instance, resolved to its EC2 instance and private IP. */
export interface ContainerInstanceView {
  readonly containerInstanceArn: string;
  readonly ec2InstanceId?: string;
  /** Private IPv4 of the EC2 instance, used for bridge and host network modes. */
  readonly privateIpAddress?: string;
}

/** One backend server of an upstream. */
export interface Endpoint {
  /** IPv4 address. */
  readonly address: string;
  /** TCP port, 1..65535. */
  readonly port: number;
  /** The task that provides this endpoint (for diagnostics; not rendered). */
  readonly taskArn: string;
}

/** One NGINX upstream = one ECS service. */
export interface Upstream {
  /** Service name exactly as in ECS (sanitised by the renderer, never here). */
  readonly name: string;
  /** Admitted endpoints; empty renders the DOWN placeholder. */
  readonly servers: readonly Endpoint[];
}

/**
 * Everything the store can be told. Parsers produce these; sources emit them; the reducer
 * is the only consumer.
 */
export type ClusterEvent =
  | TaskObservedEvent
  | TaskDefinitionObservedEvent
  | ContainerInstanceObservedEvent
  | ClusterSnapshotEvent
  | ServicesObservedEvent
  | ServiceDescribedEvent
  | IgnoredEvent;

/** A task state change event or a DescribeTasks answer for one task. */
export interface TaskObservedEvent {
  readonly kind: 'task';
  readonly task: TaskSnapshot;
  /** Envelope id of the EventBridge event, when there was one (diagnostics only, not unique). */
  readonly eventId?: string;
}

/** A DescribeTaskDefinition answer. */
export interface TaskDefinitionObservedEvent {
  readonly kind: 'task-definition';
  readonly taskDefinition: TaskDefinitionView;
  readonly observedAt: number;
}

/** A container instance resolved to an EC2 instance and IP. */
export interface ContainerInstanceObservedEvent {
  readonly kind: 'container-instance';
  readonly containerInstance: ContainerInstanceView;
  readonly observedAt: number;
}

/** A full listing of the cluster's tasks that began at `startedAt`. */
export interface ClusterSnapshotEvent {
  readonly kind: 'snapshot';
  readonly clusterArn: string;
  /** When the listing began (ListTasks' first call); the merge rule compares with this. */
  readonly startedAt: number;
  readonly tasks: readonly TaskSnapshot[];
  /** Names of the cluster's services (ListServices), so services without tasks keep an upstream. */
  readonly services?: readonly string[];
}

/** Service names learned from the API (ListServices/DescribeServices) outside a snapshot. */
export interface ServicesObservedEvent {
  readonly kind: 'services';
  readonly clusterArn: string;
  readonly services: readonly string[];
  readonly observedAt: number;
}

/**
 * An ECS service as DescribeServices describes it, reduced to what route seniority needs. Its
 * `createdAt` never changes for one service (a service deleted and created again under the same
 * name is a new service with a new `createdAt`).
 */
export interface ServiceView {
  readonly serviceArn: string;
  readonly clusterArn: string;
  readonly serviceName: string;
  /** When ECS created the service (epoch ms): the older service wins a route conflict. */
  readonly createdAt: number;
}

/** A DescribeServices answer for one service (fetched only for services whose labels publish routes). */
export interface ServiceDescribedEvent {
  readonly kind: 'service';
  readonly service: ServiceView;
  readonly observedAt: number;
}

/** A well-formed event we deliberately do not act on (other detail types, other sources). */
export interface IgnoredEvent {
  readonly kind: 'ignored';
  /** The envelope's `detail-type`, e.g. `ECS Service Action`. */
  readonly detailType: string;
  readonly reason: string;
  readonly observedAt?: number;
}
