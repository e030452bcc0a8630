import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type {
  Container,
  ContainerDefinition,
  HealthStatus,
  LaunchType,
  NetworkMode,
  Task,
  TaskDefinition,
} from '@aws-sdk/client-ecs';
import { type AwsFakeIdentity, DEFAULT_IDENTITY, ecsArn } from './identity.js';

/**
 * Builders of ECS objects in DescribeTasks / DescribeTaskDefinition shape, for seeding the fake.
 * Defaults describe a healthy RUNNING task of service `web` in cluster `default`.
 */
export interface FakeTaskOptions {
  cluster?: string;
  /** Sets `group` to `service:<name>`; default `web`. `null` makes a standalone task (`family:<family>`). */
  service?: string | null;
  /** Default: `<family>:1` of the family `app`. */
  taskDefinitionArn?: string;
  /** The task id (last ARN segment); default 32 random hex characters, like ECS's. */
  id?: string;
  lastStatus?: string;
  desiredStatus?: string;
  healthStatus?: HealthStatus;
  /** ECS's per-task change counter; default 1. */
  version?: number;
  containerName?: string;
  launchType?: LaunchType;
  createdAt?: Date;
  identity?: AwsFakeIdentity;
}

export interface AwsvpcTaskOptions extends FakeTaskOptions {
  /** The ENI's private IPv4 address. */
  ip: string;
}

export interface BridgeTaskOptions extends FakeTaskOptions {
  containerInstanceArn: string;
  hostPort: number;
  containerPort?: number;
}

export interface HostTaskOptions extends FakeTaskOptions {
  containerInstanceArn: string;
  /** In host mode the host port is the container port. */
  port: number;
}

export function newTaskId(): string {
  return randomBytes(16).toString('hex');
}

/**
 * ECS ids are 32 lowercase hex digits (or a legacy UUID); a readable test id such as `ci-1` is
 * turned into one deterministically, so the same name always gives the same ARN.
 */
export function ecsId(id: string): string {
  if (/^[0-9a-f]{32}$|^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(id)) return id;
  return createHash('md5').update(id).digest('hex');
}

export function taskArnFor(
  cluster: string,
  id: string,
  identity: AwsFakeIdentity = DEFAULT_IDENTITY,
): string {
  return ecsArn(identity, `task/${cluster}/${ecsId(id)}`);
}

export function containerInstanceArnFor(
  cluster: string,
  id: string,
  identity: AwsFakeIdentity = DEFAULT_IDENTITY,
): string {
  return ecsArn(identity, `container-instance/${cluster}/${ecsId(id)}`);
}

export function taskDefinitionArnFor(
  family: string,
  revision: number,
  identity: AwsFakeIdentity = DEFAULT_IDENTITY,
): string {
  return ecsArn(identity, `task-definition/${family}:${revision}`);
}

function baseTask(o: FakeTaskOptions, defaultLaunchType: LaunchType, container: Partial<Container>): Task {
  const identity = o.identity ?? DEFAULT_IDENTITY;
  const cluster = o.cluster ?? 'default';
  const id = ecsId(o.id ?? newTaskId());
  const taskArn = taskArnFor(cluster, id, identity);
  const taskDefinitionArn = o.taskDefinitionArn ?? taskDefinitionArnFor('app', 1, identity);
  const family = taskDefinitionArn.slice(taskDefinitionArn.lastIndexOf('/') + 1).split(':')[0]!;
  const service = o.service === undefined ? 'web' : o.service;
  const lastStatus = o.lastStatus ?? 'RUNNING';
  const createdAt = o.createdAt ?? new Date();
  const healthStatus = o.healthStatus ?? 'UNKNOWN';
  return {
    taskArn,
    clusterArn: ecsArn(identity, `cluster/${cluster}`),
    taskDefinitionArn,
    group: service === null ? `family:${family}` : `service:${service}`,
    ...(service === null ? {} : { startedBy: 'ecs-svc/1234567890123456789' }),
    lastStatus,
    desiredStatus: o.desiredStatus ?? 'RUNNING',
    healthStatus,
    launchType: o.launchType ?? defaultLaunchType,
    version: o.version ?? 1,
    connectivity: 'CONNECTED',
    availabilityZone: `${identity.region}a`,
    cpu: '256',
    memory: '512',
    createdAt,
    ...(lastStatus === 'RUNNING' ? { startedAt: createdAt } : {}),
    containers: [
      {
        containerArn: ecsArn(identity, `container/${cluster}/${id}/${randomUUID()}`),
        taskArn,
        name: o.containerName ?? 'app',
        image: 'public.ecr.aws/nginx/nginx:latest',
        lastStatus,
        healthStatus,
        ...container,
      },
    ],
  };
}

/** An awsvpc task (Fargate by default): its address is the ENI attachment's `privateIPv4Address`. */
export function buildAwsvpcTask(o: AwsvpcTaskOptions): Task {
  const attachmentId = randomUUID();
  const mac = `0a:${randomBytes(5).toString('hex').match(/../g)!.join(':')}`;
  const task = baseTask(o, 'FARGATE', {
    networkInterfaces: [{ attachmentId, privateIpv4Address: o.ip }],
    networkBindings: [],
  });
  task.attachments = [
    {
      id: attachmentId,
      type: 'ElasticNetworkInterface',
      status: 'ATTACHED',
      details: [
        { name: 'subnetId', value: 'subnet-0123456789abcdef0' },
        { name: 'networkInterfaceId', value: `eni-${randomBytes(8).toString('hex').slice(0, 17)}` },
        { name: 'macAddress', value: mac },
        { name: 'privateDnsName', value: `ip-${o.ip.replace(/\./g, '-')}.ec2.internal` },
        { name: 'privateIPv4Address', value: o.ip },
      ],
    },
  ];
  return task;
}

/** A bridge-mode task on a container instance: reachable at the instance's IP and the binding's `hostPort`. */
export function buildBridgeTask(o: BridgeTaskOptions): Task {
  const task = baseTask(o, 'EC2', {
    networkBindings: [
      { bindIP: '0.0.0.0', containerPort: o.containerPort ?? 80, hostPort: o.hostPort, protocol: 'tcp' },
    ],
    networkInterfaces: [],
  });
  task.containerInstanceArn = o.containerInstanceArn;
  return task;
}

/** A host-mode task: the container port is bound on the instance itself. */
export function buildHostTask(o: HostTaskOptions): Task {
  const task = baseTask(o, 'EC2', {
    networkBindings: [{ bindIP: '0.0.0.0', containerPort: o.port, hostPort: o.port, protocol: 'tcp' }],
    networkInterfaces: [],
  });
  task.containerInstanceArn = o.containerInstanceArn;
  return task;
}

export interface FakeContainerSpec {
  name: string;
  containerPort?: number;
  /** bridge: 0 or omitted = dynamic host port. */
  hostPort?: number;
  /** Adds a container health check (so tasks wait for HEALTHY). */
  healthCheck?: boolean;
  dockerLabels?: Record<string, string>;
  essential?: boolean;
}

export interface FakeTaskDefinitionOptions {
  family?: string;
  revision?: number;
  networkMode: NetworkMode;
  containers?: FakeContainerSpec[];
  identity?: AwsFakeIdentity;
}

/** A task definition in DescribeTaskDefinition shape; default one container `app` on port 80. */
export function buildTaskDefinition(o: FakeTaskDefinitionOptions): TaskDefinition {
  const family = o.family ?? 'app';
  const revision = o.revision ?? 1;
  const specs = o.containers ?? [{ name: 'app', containerPort: 80 }];
  const containerDefinitions: ContainerDefinition[] = specs.map((c) => ({
    name: c.name,
    image: 'public.ecr.aws/nginx/nginx:latest',
    essential: c.essential ?? true,
    cpu: 0,
    portMappings:
      c.containerPort === undefined
        ? []
        : [
            {
              containerPort: c.containerPort,
              // awsvpc and host require hostPort = containerPort; bridge uses 0 for a dynamic port.
              hostPort: o.networkMode === 'bridge' ? (c.hostPort ?? 0) : c.containerPort,
              protocol: 'tcp',
            },
          ],
    ...(c.dockerLabels ? { dockerLabels: c.dockerLabels } : {}),
    ...(c.healthCheck
      ? {
          healthCheck: {
            command: ['CMD-SHELL', 'curl -fsS http://localhost/ || exit 1'],
            interval: 30,
            timeout: 5,
            retries: 3,
            startPeriod: 0,
          },
        }
      : {}),
  }));
  return {
    taskDefinitionArn: taskDefinitionArnFor(family, revision, o.identity ?? DEFAULT_IDENTITY),
    family,
    revision,
    networkMode: o.networkMode,
    containerDefinitions,
    status: 'ACTIVE',
    requiresCompatibilities: o.networkMode === 'awsvpc' ? ['FARGATE', 'EC2'] : ['EC2'],
    cpu: '256',
    memory: '512',
    registeredAt: new Date(),
  };
}
