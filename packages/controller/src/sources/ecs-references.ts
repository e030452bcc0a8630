/**
 * What a task refers to and events never carry: its task definition (network mode, ports, health
 * checks) and, for bridge/host tasks, its container instance's EC2 private IP.
 *
 * Both are fetched only when unseen and cached: a task definition ARN names an immutable revision,
 * and a container instance ARN stays bound to one EC2 instance (re-registering creates a new ARN),
 * whose primary private IP does not change while it runs. The poller and the health checker share
 * one resolver, so each reference costs one lookup per process, not one per sync.
 */
import { DescribeInstancesCommand, type EC2Client } from '@aws-sdk/client-ec2';
import {
  type ContainerInstance,
  DescribeContainerInstancesCommand,
  DescribeTaskDefinitionCommand,
  type DescribeTaskDefinitionCommandOutput,
  type ECSClient,
  type Failure,
} from '@aws-sdk/client-ecs';
import {
  type ContainerInstanceView,
  type Logger,
  type ObservationKind,
  parseContainerInstance,
  parseTaskDefinition,
  silentLogger,
  type TaskDefinitionView,
} from '@ecs-ingress/types';
import { AWS_CALL_ERROR_CODES, AwsCallError, awsCall } from '../aws/aws-call-error.js';
import type { Metrics } from '../http/metrics.js';
import type { EventSink } from './sqs-source.js';

/**
 * Receives what the API answered, raw (SDK objects), so `record` can write observation lines
 * (`formatObservationLine(kind, detail, time)`) that replay reproduces offline.
 */
export type ObservationHook = (kind: ObservationKind, detail: unknown, timeMs: number) => void;

/** DescribeTasks takes at most 100 tasks per call (the poller's listing and the health checker). */
export const DESCRIBE_TASKS_PER_CALL = 100;
/** DescribeContainerInstances takes at most 100 container instances per call. */
const CONTAINER_INSTANCES_PER_CALL = 100;
/**
 * EC2 DescribeInstances has no documented cap on `InstanceIds`, but every id is a form field of
 * the query-protocol request; 100 keeps requests small and matches the ECS batches.
 */
const INSTANCES_PER_CALL = 100;
const DEFAULT_CONCURRENCY = 5;

/** Counts API calls by `service:Operation` for a sync's report. */
export class CallTally {
  private readonly counts = new Map<string, number>();

  add(service: string, operation: string): void {
    const key = `${service}:${operation}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }

  get total(): number {
    let n = 0;
    for (const v of this.counts.values()) n += v;
    return n;
  }

  toRecord(): Record<string, number> {
    return Object.fromEntries([...this.counts.entries()].sort(([a], [b]) => a.localeCompare(b)));
  }
}

export interface EcsReferenceResolverOptions {
  readonly ecs: ECSClient;
  readonly ec2: EC2Client;
  /** Cluster name or ARN (DescribeContainerInstances is scoped to a cluster). */
  readonly cluster: string;
  readonly sink: EventSink;
  readonly logger?: Logger;
  readonly metrics?: Pick<Metrics, 'eventsReceived'>;
  /** `source` label of `eventsReceived` for what this resolver emits. Default `poller`. */
  readonly metricsSource?: string;
  readonly observe?: ObservationHook;
  /** True when the store already holds this task definition (learned from a recording, say). */
  readonly isKnownTaskDefinition?: (arn: string) => boolean;
  /** True when the store already holds this container instance with its IP. */
  readonly isKnownContainerInstance?: (arn: string) => boolean;
  /** Parallel DescribeTaskDefinition calls (one ARN each). Default 5. */
  readonly concurrency?: number;
  readonly now?: () => number;
}

/** Fetches unseen task definitions and container instances and emits them into the sink. */
export class EcsReferenceResolver {
  private readonly o: EcsReferenceResolverOptions;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly concurrency: number;
  private readonly taskDefinitions = new Map<string, TaskDefinitionView>();
  private readonly containerInstances = new Map<string, ContainerInstanceView>();
  /** Container instances already reported as unresolvable, so each is logged once. */
  private readonly reportedUnresolvable = new Set<string>();

  constructor(options: EcsReferenceResolverOptions) {
    this.o = options;
    this.logger = options.logger ?? silentLogger;
    this.now = options.now ?? Date.now;
    this.concurrency = Math.max(1, options.concurrency ?? DEFAULT_CONCURRENCY);
  }

  /** The cached view of a task definition, if this resolver fetched it. */
  taskDefinition(arn: string): TaskDefinitionView | undefined {
    return this.taskDefinitions.get(arn);
  }

  hasTaskDefinition(arn: string): boolean {
    return this.taskDefinitions.has(arn) || (this.o.isKnownTaskDefinition?.(arn) ?? false);
  }

  hasContainerInstance(arn: string): boolean {
    return this.containerInstances.has(arn) || (this.o.isKnownContainerInstance?.(arn) ?? false);
  }

  /**
   * Fetches every task definition in `arns` not known yet (one DescribeTaskDefinition each, the API
   * takes one), at most `concurrency` at a time, and dispatches a `task-definition` event for each.
   * A definition ECS refuses to describe is logged and skipped; throttling or an outage fails the
   * whole call (after the ones in flight settle) so the caller retries later.
   * @returns how many were fetched
   */
  async resolveTaskDefinitions(arns: Iterable<string>, tally: CallTally): Promise<number> {
    const wanted = [...new Set(arns)].filter((arn) => !this.hasTaskDefinition(arn));
    let fetched = 0;
    await mapLimit(wanted, this.concurrency, async (arn) => {
      let out: DescribeTaskDefinitionCommandOutput;
      try {
        out = await awsCall('ecs', 'DescribeTaskDefinition', () => {
          tally.add('ecs', 'DescribeTaskDefinition');
          return this.o.ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: arn }));
        });
      } catch (err) {
        if (err instanceof AwsCallError && err.code === AWS_CALL_ERROR_CODES.rejected) {
          this.logger.warn(
            { err, taskDefinitionArn: arn, code: err.code },
            'task definition cannot be described; its tasks stay unresolved',
          );
          return;
        }
        throw err;
      }
      const raw = out.taskDefinition;
      if (!raw) {
        this.logger.warn({ taskDefinitionArn: arn }, 'DescribeTaskDefinition answered without a definition');
        return;
      }
      let view: TaskDefinitionView;
      try {
        view = parseTaskDefinition(raw);
      } catch (err) {
        this.logger.warn({ err, taskDefinitionArn: arn }, 'task definition does not parse; skipped');
        return;
      }
      const at = this.now();
      this.taskDefinitions.set(arn, view);
      // ECS may answer a revision ARN with a different spelling; cache both so it is never refetched.
      if (view.taskDefinitionArn !== arn) this.taskDefinitions.set(view.taskDefinitionArn, view);
      this.o.observe?.('Task Definition', raw, at);
      this.emit('Task Definition', { kind: 'task-definition', taskDefinition: view, observedAt: at });
      fetched++;
    });
    return fetched;
  }

  /**
   * Resolves every container instance in `arns` not known yet to its EC2 instance's private IP:
   * DescribeContainerInstances in chunks of 100, then EC2 DescribeInstances in batches for the EC2
   * instances not seen before. Dispatches a `container-instance` event for each one resolved.
   * @returns how many were resolved
   */
  async resolveContainerInstances(arns: Iterable<string>, tally: CallTally): Promise<number> {
    const wanted = [...new Set(arns)].filter((arn) => !this.hasContainerInstance(arn));
    if (wanted.length === 0) return 0;
    const described: ContainerInstance[] = [];
    for (const chunk of chunks(wanted, CONTAINER_INSTANCES_PER_CALL)) {
      const out = await awsCall('ecs', 'DescribeContainerInstances', () => {
        tally.add('ecs', 'DescribeContainerInstances');
        return this.o.ecs.send(
          new DescribeContainerInstancesCommand({ cluster: this.o.cluster, containerInstances: chunk }),
        );
      });
      described.push(...(out.containerInstances ?? []));
      this.logFailures('DescribeContainerInstances', out.failures);
    }

    const ec2Ids = [...new Set(described.map((ci) => ci.ec2InstanceId).filter((id): id is string => !!id))];
    const ips = await this.describeInstances(ec2Ids, tally);

    let resolved = 0;
    for (const ci of described) {
      const arn = ci.containerInstanceArn;
      if (!arn) continue;
      const ip = ci.ec2InstanceId ? ips.get(ci.ec2InstanceId) : undefined;
      if (ip === undefined) {
        // ECS Anywhere (EXTERNAL) instances have no EC2 instance; a terminated one no longer has an IP.
        if (!this.reportedUnresolvable.has(arn)) {
          this.reportedUnresolvable.add(arn);
          this.logger.warn(
            { containerInstanceArn: arn, ec2InstanceId: ci.ec2InstanceId },
            'container instance has no EC2 private IP; its bridge/host tasks stay unresolved',
          );
        }
        continue;
      }
      const detail = { containerInstanceArn: arn, ec2InstanceId: ci.ec2InstanceId, privateIpAddress: ip };
      let view: ContainerInstanceView;
      try {
        view = parseContainerInstance(detail);
      } catch (err) {
        this.logger.warn({ err, containerInstanceArn: arn }, 'container instance does not parse; skipped');
        continue;
      }
      const at = this.now();
      this.containerInstances.set(arn, view);
      this.reportedUnresolvable.delete(arn);
      this.o.observe?.('Container Instance', detail, at);
      this.emit('Container Instance', {
        kind: 'container-instance',
        containerInstance: view,
        observedAt: at,
      });
      resolved++;
    }
    return resolved;
  }

  /**
   * Drops cached entries no longer referenced by any task of the latest full listing, so a
   * long-lived daemon does not keep every revision it ever saw. A dropped entry that comes back
   * is simply fetched again (or skipped when the store still knows it).
   */
  retainOnly(taskDefinitionArns: ReadonlySet<string>, containerInstanceArns: ReadonlySet<string>): void {
    for (const arn of this.taskDefinitions.keys()) {
      if (!taskDefinitionArns.has(arn)) this.taskDefinitions.delete(arn);
    }
    for (const arn of this.containerInstances.keys()) {
      if (!containerInstanceArns.has(arn)) this.containerInstances.delete(arn);
    }
    for (const arn of this.reportedUnresolvable) {
      if (!containerInstanceArns.has(arn)) this.reportedUnresolvable.delete(arn);
    }
  }

  private async describeInstances(ids: readonly string[], tally: CallTally): Promise<Map<string, string>> {
    const ips = new Map<string, string>();
    for (const batch of chunks(ids, INSTANCES_PER_CALL)) {
      try {
        await this.describeInstanceBatch(batch, ips, tally);
      } catch (err) {
        // EC2 fails the whole call when any id is unknown (InvalidInstanceID.NotFound), e.g. an
        // instance terminated long ago whose container instance is still registered. Ask one by
        // one so the others still resolve; this path is rare and bounded by the batch size.
        if (!isUnknownInstance(err)) throw err;
        if (batch.length === 1) continue;
        for (const id of batch) {
          try {
            await this.describeInstanceBatch([id], ips, tally);
          } catch (inner) {
            if (!isUnknownInstance(inner)) throw inner;
          }
        }
      }
    }
    return ips;
  }

  private async describeInstanceBatch(
    ids: readonly string[],
    ips: Map<string, string>,
    tally: CallTally,
  ): Promise<void> {
    const out = await awsCall('ec2', 'DescribeInstances', () => {
      tally.add('ec2', 'DescribeInstances');
      return this.o.ec2.send(new DescribeInstancesCommand({ InstanceIds: [...ids] }));
    });
    for (const reservation of out.Reservations ?? []) {
      for (const instance of reservation.Instances ?? []) {
        if (instance.InstanceId && instance.PrivateIpAddress) {
          ips.set(instance.InstanceId, instance.PrivateIpAddress);
        }
      }
    }
  }

  private emit(detailType: string, event: Parameters<EventSink['dispatch']>[0]): void {
    this.o.metrics?.eventsReceived.inc({ source: this.o.metricsSource ?? 'poller', detail_type: detailType });
    const outcome = this.o.sink.dispatch(event);
    if (outcome === 'invalid')
      this.logger.warn({ kind: event.kind }, 'store rejected an observation as invalid');
  }

  private logFailures(operation: string, failures: readonly Failure[] | undefined): void {
    logDescribeFailures(this.logger, operation, failures);
  }
}

function isUnknownInstance(err: unknown): boolean {
  return err instanceof AwsCallError && err.awsCode.startsWith('InvalidInstanceID');
}

/** Logs a Describe* call's `failures[]`: MISSING (gone since it was listed) at debug, the rest at warn. */
export function logDescribeFailures(
  logger: Logger,
  operation: string,
  failures: readonly Failure[] | undefined,
): void {
  for (const f of failures ?? []) {
    const fields = { operation, arn: f.arn, reason: f.reason, detail: f.detail };
    if (f.reason === 'MISSING') logger.debug(fields, `${operation}: resource is gone`);
    else logger.warn(fields, `${operation} reported a failure`);
  }
}

/** Splits `items` into arrays of at most `size`. */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * Runs `fn` over `items` with at most `limit` in flight. After a failure no new item starts; the
 * ones in flight settle, then the first error is thrown (nothing is left running behind the caller).
 */
export async function mapLimit<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (failure === undefined && next < items.length) {
      const item = items[next++] as T;
      try {
        await fn(item);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw failure.error;
}
