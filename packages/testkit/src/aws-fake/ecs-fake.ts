import type {
  Cluster,
  ContainerInstance,
  Failure,
  LaunchType,
  Service,
  Task,
  TaskDefinition,
} from '@aws-sdk/client-ecs';
import { type AwsFakeIdentity, ecsArn, lastSegment } from './identity.js';
import { AwsFakeError, optNumber, optString, optStrings, paginate } from './wire.js';

/** Target prefix of ECS's awsJson1_1 operations (`X-Amz-Target`). */
export const ECS_TARGET_PREFIX = 'AmazonEC2ContainerServiceV20141113.';

interface ClusterState {
  readonly cluster: Cluster;
  readonly tasks: Map<string, Task>;
  readonly services: Map<string, Service>;
  readonly containerInstances: Map<string, ContainerInstance>;
}

export interface PutServiceOptions {
  cluster?: string;
  desiredCount?: number;
  runningCount?: number;
  launchType?: LaunchType;
  taskDefinition?: string;
  status?: string;
  /** When ECS created the service (route seniority); default: now. */
  createdAt?: Date;
}

export interface PutContainerInstanceOptions {
  /** Cluster name; defaults to the one in a long-format ARN, else `default`. */
  cluster?: string;
  status?: string;
}

const invalidParameter = (message: string) => new AwsFakeError('InvalidParameterException', message);

/**
 * In-memory ECS: clusters holding tasks, services and container instances, plus account-wide task
 * definitions. Tests mutate it directly; the server answers the SDK's calls from it.
 * Objects are kept in the SDK's own shapes (`Task`, `Service`…), which are also ECS's wire shapes
 * except that timestamps travel as epoch seconds.
 */
export class EcsFake {
  readonly clusters = new Map<string, ClusterState>();
  readonly taskDefinitions = new Map<string, TaskDefinition>();

  constructor(readonly identity: AwsFakeIdentity) {}

  clusterArn(name: string): string {
    return ecsArn(this.identity, `cluster/${name}`);
  }

  addCluster(name: string): Cluster {
    const existing = this.clusters.get(name);
    if (existing) return existing.cluster;
    const cluster: Cluster = { clusterArn: this.clusterArn(name), clusterName: name, status: 'ACTIVE' };
    this.clusters.set(name, {
      cluster,
      tasks: new Map(),
      services: new Map(),
      containerInstances: new Map(),
    });
    return cluster;
  }

  /** Adds or replaces a task (keyed by `taskArn`) in the cluster named by its `clusterArn` (created if new). */
  putTask(task: Task): Task {
    if (!task.taskArn) throw new Error('putTask: taskArn is required');
    const clusterName = lastSegment(task.clusterArn ?? this.clusterArn('default'));
    const state = this.stateOf(clusterName);
    const stored: Task = { ...task, clusterArn: state.cluster.clusterArn };
    state.tasks.set(task.taskArn, stored);
    return stored;
  }

  /** Applies `patch` to a stored task and bumps its `version` (as ECS does on every change) unless the patch sets one. */
  updateTask(taskArn: string, patch: Partial<Task>): Task {
    const found = this.findTask(taskArn);
    if (!found) throw new Error(`updateTask: no task ${taskArn}`);
    const [state, task] = found;
    const updated: Task = { ...task, ...patch, version: patch.version ?? (task.version ?? 0) + 1 };
    state.tasks.set(task.taskArn!, updated);
    return updated;
  }

  removeTask(taskArn: string): boolean {
    const found = this.findTask(taskArn);
    return found ? found[0].tasks.delete(found[1].taskArn!) : false;
  }

  task(taskArn: string): Task | undefined {
    return this.findTask(taskArn)?.[1];
  }

  putTaskDefinition(td: TaskDefinition): TaskDefinition {
    if (!td.taskDefinitionArn) throw new Error('putTaskDefinition: taskDefinitionArn is required');
    const stored: TaskDefinition = { status: 'ACTIVE', ...td };
    this.taskDefinitions.set(td.taskDefinitionArn, stored);
    return stored;
  }

  /** Registers a container instance (ARN or bare id) running on EC2 instance `ec2InstanceId`. */
  putContainerInstance(
    arnOrId: string,
    ec2InstanceId: string,
    options: PutContainerInstanceOptions = {},
  ): ContainerInstance {
    const parts = arnOrId.startsWith('arn:') ? arnOrId.split(':').slice(5).join(':').split('/') : [];
    const clusterName = options.cluster ?? (parts.length === 3 ? parts[1]! : 'default');
    const state = this.stateOf(clusterName);
    const arn = arnOrId.startsWith('arn:')
      ? arnOrId
      : ecsArn(this.identity, `container-instance/${clusterName}/${arnOrId}`);
    const ci: ContainerInstance = {
      containerInstanceArn: arn,
      ec2InstanceId,
      status: options.status ?? 'ACTIVE',
      agentConnected: true,
      runningTasksCount: 0,
      pendingTasksCount: 0,
      version: 1,
      registeredAt: new Date(),
    };
    state.containerInstances.set(arn, ci);
    return ci;
  }

  removeContainerInstance(arn: string): boolean {
    for (const state of this.clusters.values()) if (state.containerInstances.delete(arn)) return true;
    return false;
  }

  putService(name: string, options: PutServiceOptions = {}): Service {
    const clusterName = options.cluster ?? 'default';
    const state = this.stateOf(clusterName);
    const service: Service = {
      serviceArn: ecsArn(this.identity, `service/${clusterName}/${name}`),
      serviceName: name,
      clusterArn: state.cluster.clusterArn,
      status: options.status ?? 'ACTIVE',
      desiredCount: options.desiredCount ?? 1,
      runningCount: options.runningCount ?? 0,
      pendingCount: 0,
      launchType: options.launchType ?? 'EC2',
      schedulingStrategy: 'REPLICA',
      createdAt: options.createdAt ?? new Date(),
      ...(options.taskDefinition !== undefined ? { taskDefinition: options.taskDefinition } : {}),
    };
    state.services.set(name, service);
    return service;
  }

  removeService(name: string, cluster = 'default'): boolean {
    return this.clusters.get(cluster)?.services.delete(name) ?? false;
  }

  /** Answers one ECS operation; throws `AwsFakeError` for the errors ECS would return. */
  handle(operation: string, input: Record<string, unknown>): unknown {
    switch (operation) {
      case 'ListTasks':
        return this.listTasks(input);
      case 'DescribeTasks':
        return this.describeTasks(input);
      case 'DescribeTaskDefinition':
        return this.describeTaskDefinition(input);
      case 'ListContainerInstances':
        return this.listContainerInstances(input);
      case 'DescribeContainerInstances':
        return this.describeContainerInstances(input);
      case 'ListServices':
        return this.listServices(input);
      case 'DescribeServices':
        return this.describeServices(input);
      case 'DescribeClusters':
        return this.describeClusters(input);
      default:
        throw new AwsFakeError('UnknownOperationException', `ECS operation ${operation} is not modelled`);
    }
  }

  private stateOf(clusterName: string): ClusterState {
    this.addCluster(clusterName);
    return this.clusters.get(clusterName)!;
  }

  private findTask(arnOrId: string): [ClusterState, Task] | undefined {
    const id = lastSegment(arnOrId);
    for (const state of this.clusters.values()) {
      const exact = state.tasks.get(arnOrId);
      if (exact) return [state, exact];
      for (const task of state.tasks.values()) if (lastSegment(task.taskArn!) === id) return [state, task];
    }
    return undefined;
  }

  /** The cluster a request names (name or ARN); ECS defaults to `default` and fails on unknown ones. */
  private requestCluster(input: Record<string, unknown>): ClusterState {
    const name = lastSegment(optString(input, 'cluster') ?? 'default');
    const state = this.clusters.get(name);
    if (!state) throw new AwsFakeError('ClusterNotFoundException', 'Cluster not found.');
    return state;
  }

  /** ECS list operations take `maxResults` 1..100. */
  private limit(input: Record<string, unknown>, fallback: number): number {
    const max = optNumber(input, 'maxResults');
    if (max === undefined) return fallback;
    if (!Number.isInteger(max) || max < 1 || max > 100) {
      throw invalidParameter('maxResults must be between 1 and 100.');
    }
    return max;
  }

  private listTasks(input: Record<string, unknown>): unknown {
    const state = this.requestCluster(input);
    // ListTasks filters on desiredStatus RUNNING unless told otherwise (PENDING tasks included).
    const desiredStatus = optString(input, 'desiredStatus') ?? 'RUNNING';
    const serviceName = optString(input, 'serviceName');
    const family = optString(input, 'family');
    const startedBy = optString(input, 'startedBy');
    const launchType = optString(input, 'launchType');
    const containerInstance = optString(input, 'containerInstance');
    const arns = [...state.tasks.values()]
      .filter(
        (t) =>
          t.desiredStatus === desiredStatus &&
          (serviceName === undefined || t.group === `service:${serviceName}`) &&
          (family === undefined || familyOf(t.taskDefinitionArn) === family) &&
          (startedBy === undefined || t.startedBy === startedBy) &&
          (launchType === undefined || t.launchType === launchType) &&
          (containerInstance === undefined ||
            (t.containerInstanceArn !== undefined &&
              lastSegment(t.containerInstanceArn) === lastSegment(containerInstance))),
      )
      .map((t) => t.taskArn!);
    const page = paginate(arns, this.limit(input, 100), optString(input, 'nextToken'), invalidParameter);
    return { taskArns: page.items, nextToken: page.nextToken };
  }

  private describeTasks(input: Record<string, unknown>): unknown {
    const state = this.requestCluster(input);
    const wanted = optStrings(input, 'tasks') ?? [];
    if (wanted.length === 0) throw invalidParameter('Tasks cannot be empty.');
    // DescribeTasks takes at most 100 tasks per call.
    if (wanted.length > 100) throw invalidParameter('taskIds can have at most 100 items.');
    const tasks: Task[] = [];
    const failures: Failure[] = [];
    // Tasks are keyed by ARN: look the ARN up first, scan for a bare id only (10,000-task clusters).
    let byId: Map<string, Task> | undefined;
    for (const ref of wanted) {
      const id = lastSegment(ref);
      let task = state.tasks.get(ref);
      if (!task) {
        byId ??= new Map([...state.tasks.values()].map((t) => [lastSegment(t.taskArn!), t]));
        task = byId.get(id);
      }
      if (task) tasks.push(task);
      else
        failures.push({
          arn: ref.startsWith('arn:') ? ref : ecsArn(this.identity, `task/${id}`),
          reason: 'MISSING',
        });
    }
    return { tasks, failures };
  }

  private describeTaskDefinition(input: Record<string, unknown>): unknown {
    const ref = optString(input, 'taskDefinition');
    if (!ref) throw invalidParameter('taskDefinition can not be blank.');
    const td = this.resolveTaskDefinition(ref);
    if (!td) throw new AwsFakeError('ClientException', 'Unable to describe task definition.');
    return { taskDefinition: td, tags: [] };
  }

  /** Full ARN, `family:revision`, or `family` alone (= its latest ACTIVE revision). */
  private resolveTaskDefinition(ref: string): TaskDefinition | undefined {
    const exact = this.taskDefinitions.get(ref);
    if (exact) return exact;
    const short = ref.startsWith('arn:') ? lastSegment(ref) : ref;
    const [family, revision] = short.split(':');
    let latest: TaskDefinition | undefined;
    for (const td of this.taskDefinitions.values()) {
      if (td.family !== family) continue;
      if (revision !== undefined) {
        if (String(td.revision) === revision) return td;
      } else if (
        td.status === 'ACTIVE' &&
        (latest === undefined || (td.revision ?? 0) > (latest.revision ?? 0))
      ) {
        latest = td;
      }
    }
    return latest;
  }

  private listContainerInstances(input: Record<string, unknown>): unknown {
    const state = this.requestCluster(input);
    const status = optString(input, 'status');
    const arns = [...state.containerInstances.values()]
      .filter((ci) => status === undefined || ci.status === status)
      .map((ci) => ci.containerInstanceArn!);
    const page = paginate(arns, this.limit(input, 100), optString(input, 'nextToken'), invalidParameter);
    return { containerInstanceArns: page.items, nextToken: page.nextToken };
  }

  private describeContainerInstances(input: Record<string, unknown>): unknown {
    const state = this.requestCluster(input);
    const wanted = optStrings(input, 'containerInstances') ?? [];
    if (wanted.length === 0) throw invalidParameter('Container instances cannot be empty.');
    // DescribeContainerInstances takes at most 100 instances per call.
    if (wanted.length > 100) throw invalidParameter('instanceIds can have at most 100 items.');
    const containerInstances: ContainerInstance[] = [];
    const failures: Failure[] = [];
    for (const ref of wanted) {
      const id = lastSegment(ref);
      const ci = [...state.containerInstances.values()].find(
        (c) => c.containerInstanceArn === ref || lastSegment(c.containerInstanceArn!) === id,
      );
      if (ci) containerInstances.push(ci);
      else {
        const arn = ref.startsWith('arn:') ? ref : ecsArn(this.identity, `container-instance/${id}`);
        failures.push({ arn, reason: 'MISSING' });
      }
    }
    return { containerInstances, failures };
  }

  private listServices(input: Record<string, unknown>): unknown {
    const state = this.requestCluster(input);
    const launchType = optString(input, 'launchType');
    const arns = [...state.services.values()]
      .filter((s) => s.status !== 'INACTIVE' && (launchType === undefined || s.launchType === launchType))
      .map((s) => s.serviceArn!);
    // ListServices returns 10 results a page unless maxResults (≤ 100) says otherwise.
    const page = paginate(arns, this.limit(input, 10), optString(input, 'nextToken'), invalidParameter);
    return { serviceArns: page.items, nextToken: page.nextToken };
  }

  private describeServices(input: Record<string, unknown>): unknown {
    const state = this.requestCluster(input);
    const wanted = optStrings(input, 'services') ?? [];
    if (wanted.length === 0) throw invalidParameter('Services cannot be empty.');
    // DescribeServices takes at most 10 services per call.
    if (wanted.length > 10) throw invalidParameter('service names can have at most 10 items.');
    const services: Service[] = [];
    const failures: Failure[] = [];
    for (const ref of wanted) {
      const service = state.services.get(lastSegment(ref));
      if (service) services.push(service);
      else {
        const arn = ref.startsWith('arn:')
          ? ref
          : ecsArn(this.identity, `service/${state.cluster.clusterName}/${ref}`);
        failures.push({ arn, reason: 'MISSING' });
      }
    }
    return { services, failures };
  }

  private describeClusters(input: Record<string, unknown>): unknown {
    const wanted = optStrings(input, 'clusters') ?? ['default'];
    const clusters: Cluster[] = [];
    const failures: Failure[] = [];
    for (const ref of wanted) {
      const state = this.clusters.get(lastSegment(ref));
      if (!state) {
        failures.push({ arn: ref.startsWith('arn:') ? ref : this.clusterArn(ref), reason: 'MISSING' });
        continue;
      }
      const tasks = [...state.tasks.values()];
      clusters.push({
        ...state.cluster,
        runningTasksCount: tasks.filter((t) => t.lastStatus === 'RUNNING').length,
        pendingTasksCount: tasks.filter((t) => t.lastStatus === 'PENDING').length,
        activeServicesCount: [...state.services.values()].filter((s) => s.status === 'ACTIVE').length,
        registeredContainerInstancesCount: state.containerInstances.size,
      });
    }
    return { clusters, failures };
  }
}

function familyOf(taskDefinitionArn: string | undefined): string | undefined {
  if (!taskDefinitionArn) return undefined;
  return lastSegment(taskDefinitionArn).split(':')[0];
}
