/**
 * The ECS poller: one full listing of the cluster in as few API calls as the limits allow.
 *
 * Per sync, for T tasks, S services and I new container instances:
 * - ListTasks, cluster-wide, desiredStatus RUNNING, 100 ARNs a page (its maximum): ⌈T/100⌉ calls;
 * - DescribeTasks, 100 tasks a call (its maximum): ⌈T/100⌉ calls;
 * - ListServices, 100 ARNs a page (its maximum; the default is 10): ⌈S/100⌉ calls. The service name
 *   is the ARN's last path segment (both the old `service/<name>` and the new
 *   `service/<cluster>/<name>` formats), so DescribeServices (10 a call) is never needed;
 * - DescribeTaskDefinition only for revisions never seen (the API takes one ARN; cached forever,
 *   revisions are immutable);
 * - DescribeContainerInstances (100 a call) and EC2 DescribeInstances only for container instances
 *   never seen that run bridge or host tasks (awsvpc tasks carry their own ENI address);
 * - DescribeClusters once per process, to turn a cluster name into the ARN events carry.
 * A steady 1,000-task / 100-service cluster thus costs 10 + 10 + 1 = 21 calls per sync.
 *
 * It emits, in order: task-definition events, container-instance events, then one `snapshot`
 * whose `startedAt` is the moment before the first ListTasks, which lets the store keep tasks that
 * events reported after the listing began.
 */
import {
  DescribeClustersCommand,
  DescribeTasksCommand,
  ListServicesCommand,
  ListTasksCommand,
  type Task,
} from '@aws-sdk/client-ecs';
import {
  EcsIngressError,
  EventParseError,
  type Logger,
  parseDescribedTask,
  silentLogger,
  type TaskSnapshot,
} from '@ecs-ingress/types';
import { awsCall } from './aws/aws-call-error.js';
import { CallTally, chunks, DESCRIBE_TASKS_PER_CALL, logDescribeFailures, mapLimit } from './aws-batches.js';
import {
  EcsReferenceResolver,
  type EcsReferenceResolverOptions,
  type ObservationHook,
} from './ecs-references.js';

/** ListTasks / ListServices return at most 100 ARNs a page. */
const LIST_PAGE_SIZE = 100;
/**
 * Guard against a paginator that never ends (a service bug, a fake gone wrong): 1,000 pages is
 * 100,000 tasks, far above ECS's per-cluster quotas (5,000 services; tasks bounded by instances).
 */
const MAX_PAGES = 1_000;
const DEFAULT_CONCURRENCY = 5;

/** What one full sync did. */
export interface SyncReport {
  readonly clusterArn: string;
  /** Epoch ms just before the first ListTasks. */
  readonly startedAt: number;
  /** API calls issued by this sync, by `service:Operation` (SDK retries not included). */
  readonly calls: Readonly<Record<string, number>>;
  readonly totalCalls: number;
  /** Tasks in the snapshot. */
  readonly tasks: number;
  /** Services in the snapshot. */
  readonly services: number;
  /** Tasks DescribeTasks returned that could not be parsed (logged with their ARN). */
  readonly skippedTasks: number;
  readonly taskDefinitionsFetched: number;
  readonly containerInstancesResolved: number;
  readonly durationMs: number;
}

/** The reference resolver's options the poller hands on to its own resolver (`references`). */
export interface EcsPollerOptions
  extends Pick<
    EcsReferenceResolverOptions,
    | 'ecs'
    | 'ec2'
    | 'sink'
    | 'logger'
    | 'metrics'
    | 'isKnownTaskDefinition'
    | 'isKnownContainerInstance'
    | 'sharedTaskDefinitions'
    | 'now'
  > {
  /** Cluster name (resolved once to its ARN with DescribeClusters) or ARN. */
  readonly cluster: string;
  /** Raw API answers, for `record`: `Task Definition`, `Container Instance`, `Cluster Snapshot`. */
  readonly observe?: ObservationHook;
  /** Parallel describe calls. Default 5. */
  readonly concurrency?: number;
}

/** The cluster named in the configuration does not exist (or is not visible to our credentials). */
export class ClusterNotFoundError extends EcsIngressError {
  constructor(readonly cluster: string) {
    super('ECS_INGRESS_CLUSTER_NOT_FOUND', `ECS cluster ${JSON.stringify(cluster)} not found`, {
      // A cluster can be created after the daemon started; the supervisor keeps trying.
      retryable: true,
    });
  }
}

export class EcsPoller {
  /** Shared with the health checker so both fetch each reference once. */
  readonly references: EcsReferenceResolver;
  private readonly o: EcsPollerOptions;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly concurrency: number;
  private resolvedClusterArn: string | undefined;
  private inFlight: Promise<SyncReport> | undefined;

  constructor(options: EcsPollerOptions) {
    this.o = options;
    this.logger = (options.logger ?? silentLogger).child({ component: 'ecs-poller' });
    this.now = options.now ?? Date.now;
    this.concurrency = Math.max(1, options.concurrency ?? DEFAULT_CONCURRENCY);
    this.references = new EcsReferenceResolver({
      ...options,
      logger: this.logger,
      metricsSource: 'poller',
      concurrency: this.concurrency,
      now: this.now,
    });
  }

  /** The cluster's ARN, once resolved (after the first successful sync or `clusterArn()`). */
  get knownClusterArn(): string | undefined {
    return this.resolvedClusterArn;
  }

  /** Resolves the configured cluster to its ARN (one DescribeClusters, once per process). */
  async clusterArn(tally: CallTally = new CallTally()): Promise<string> {
    if (this.resolvedClusterArn) return this.resolvedClusterArn;
    const cluster = this.o.cluster;
    if (cluster.startsWith('arn:')) {
      this.resolvedClusterArn = cluster;
      return cluster;
    }
    const out = await awsCall('ecs', 'DescribeClusters', () => {
      tally.add('ecs', 'DescribeClusters');
      return this.o.ecs.send(new DescribeClustersCommand({ clusters: [cluster] }), tally.sendOptions);
    });
    const found = out.clusters?.find(
      (c) => c.clusterName === cluster || c.clusterArn?.endsWith(`/${cluster}`),
    );
    if (!found?.clusterArn) throw new ClusterNotFoundError(cluster);
    if (found.status && found.status !== 'ACTIVE') {
      this.logger.warn({ cluster, status: found.status }, 'ECS cluster is not ACTIVE');
    }
    this.resolvedClusterArn = found.clusterArn;
    return found.clusterArn;
  }

  /**
   * Lists the whole cluster and emits what it learned into the sink (see the file comment).
   * Concurrent callers share one sync in flight. `signal` aborts its AWS calls in flight (SIGTERM:
   * a slow API must not hold the shutdown for the SDK's timeouts and retries).
   * @throws AwsCallError when a call fails after the SDK's retries (or was aborted); ClusterNotFoundError
   */
  fullSync(signal?: AbortSignal): Promise<SyncReport> {
    this.inFlight ??= this.runSync(signal).finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  private async runSync(signal: AbortSignal | undefined): Promise<SyncReport> {
    const tally = new CallTally(signal);
    const clusterArn = await this.clusterArn(tally);
    const clock = performance.now();
    // Taken before the first ListTasks: any event the store receives after this instant may be
    // newer than what the listing saw, and the store's merge rule keeps such tasks.
    const startedAt = this.now();

    const [taskArns, services] = await Promise.all([
      this.listAll('ListTasks', tally, async (nextToken) => {
        const out = await this.o.ecs.send(
          new ListTasksCommand({
            cluster: clusterArn,
            desiredStatus: 'RUNNING',
            maxResults: LIST_PAGE_SIZE,
            ...(nextToken ? { nextToken } : {}),
          }),
          tally.sendOptions,
        );
        return { items: out.taskArns ?? [], nextToken: out.nextToken };
      }),
      this.listAll('ListServices', tally, async (nextToken) => {
        const out = await this.o.ecs.send(
          new ListServicesCommand({
            cluster: clusterArn,
            maxResults: LIST_PAGE_SIZE,
            ...(nextToken ? { nextToken } : {}),
          }),
          tally.sendOptions,
        );
        return { items: out.serviceArns ?? [], nextToken: out.nextToken };
      }),
    ]);

    // Each DescribeTasks page is parsed as it arrives and its raw answer dropped, unless a recorder
    // wants the raw answers: holding every raw task until the end of a large listing grows the heap,
    // and V8 keeps that size after the sync.
    const recording = this.o.observe !== undefined;
    let skippedTasks = 0;
    const pages = await this.describeTasks(clusterArn, [...new Set(taskArns)], tally, (page) => {
      const tasks: TaskSnapshot[] = [];
      const raws: Task[] = [];
      for (const raw of page) {
        try {
          // Every listed task counts as observed when the listing began, the conservative bound the
          // store's merge rule needs, and exactly what replaying the `Cluster Snapshot` line yields.
          tasks.push(parseDescribedTask(raw, startedAt, 'described'));
          if (recording) raws.push(raw);
        } catch (err) {
          skippedTasks++;
          this.logger.warn(
            { err, taskArn: raw.taskArn, reason: err instanceof EventParseError ? err.reason : undefined },
            'task from DescribeTasks does not parse; skipped',
          );
        }
      }
      return { tasks, raws };
    });
    const tasks = pages.flatMap((page) => page.tasks);

    const taskDefinitionArns = new Set(tasks.map((t) => t.taskDefinitionArn));
    const taskDefinitionsFetched = await this.references.resolveTaskDefinitions(taskDefinitionArns, tally);

    const containerInstanceArns = new Set<string>();
    for (const t of tasks) {
      if (t.containerInstanceArn && this.needsInstanceIp(t))
        containerInstanceArns.add(t.containerInstanceArn);
    }
    const containerInstancesResolved = await this.references.resolveContainerInstances(
      containerInstanceArns,
      tally,
    );
    this.references.retainOnly(taskDefinitionArns, containerInstanceArns);

    const serviceNames = [...new Set(services.map(serviceNameFromArn))].sort();
    this.o.observe?.(
      'Cluster Snapshot',
      {
        clusterArn,
        startedAt: new Date(startedAt).toISOString(),
        tasks: pages.flatMap((page) => page.raws),
        services: serviceNames,
      },
      startedAt,
    );
    this.o.metrics?.eventReceived('poller', 'Cluster Snapshot');
    const outcome = this.o.sink.dispatch({
      kind: 'snapshot',
      clusterArn,
      startedAt,
      tasks,
      services: serviceNames,
    });
    if (outcome === 'invalid') this.logger.warn({ clusterArn }, 'store rejected the cluster snapshot');

    const report: SyncReport = {
      clusterArn,
      startedAt,
      calls: tally.toRecord(),
      totalCalls: tally.total,
      tasks: tasks.length,
      services: serviceNames.length,
      skippedTasks,
      taskDefinitionsFetched,
      containerInstancesResolved,
      durationMs: Math.round(performance.now() - clock),
    };
    this.logger.debug({ ...report }, 'full sync done');
    return report;
  }

  /**
   * Bridge and host tasks are reached at their container instance's IP; awsvpc tasks at their
   * own ENI. When the network mode is unknown (definition not fetched by us), resolve to be safe.
   */
  private needsInstanceIp(task: TaskSnapshot): boolean {
    const mode = this.references.taskDefinition(task.taskDefinitionArn)?.networkMode;
    return mode === undefined || mode === 'bridge' || mode === 'host';
  }

  /**
   * DescribeTasks of `arns`, 100 a call, `concurrency` at a time; each page goes through `parse` as
   * it arrives (its raw answer is not kept here). Pages come back in the order of `arns`.
   */
  private async describeTasks<T>(
    clusterArn: string,
    arns: readonly string[],
    tally: CallTally,
    parse: (page: readonly Task[]) => T,
  ): Promise<T[]> {
    const batches = chunks(arns, DESCRIBE_TASKS_PER_CALL);
    const results: T[] = new Array(batches.length);
    await mapLimit(
      batches.map((batch, i) => ({ batch, i })),
      this.concurrency,
      async ({ batch, i }) => {
        const out = await awsCall('ecs', 'DescribeTasks', () => {
          tally.add('ecs', 'DescribeTasks');
          return this.o.ecs.send(
            new DescribeTasksCommand({ cluster: clusterArn, tasks: batch }),
            tally.sendOptions,
          );
        });
        results[i] = parse(out.tasks ?? []);
        logDescribeFailures(this.logger, 'DescribeTasks', out.failures);
      },
    );
    return results;
  }

  /** Follows `nextToken` to the end, bounded by MAX_PAGES. */
  private async listAll(
    operation: string,
    tally: CallTally,
    page: (nextToken: string | undefined) => Promise<{ items: string[]; nextToken: string | undefined }>,
  ): Promise<string[]> {
    const items: string[] = [];
    let nextToken: string | undefined;
    for (let n = 0; n < MAX_PAGES; n++) {
      const out = await awsCall('ecs', operation, () => {
        tally.add('ecs', operation);
        return page(nextToken);
      });
      items.push(...out.items);
      nextToken = out.nextToken;
      if (!nextToken) return items;
    }
    throw new EcsIngressError(
      'ECS_INGRESS_PAGINATION_RUNAWAY',
      `${operation} returned more than ${MAX_PAGES} pages`,
      {
        retryable: true,
      },
    );
  }
}

/** `arn:…:service/<cluster>/<name>` or the old `arn:…:service/<name>` → `<name>`. */
export function serviceNameFromArn(serviceArn: string): string {
  return serviceArn.slice(serviceArn.lastIndexOf('/') + 1);
}
