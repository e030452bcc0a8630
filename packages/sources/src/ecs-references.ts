/**
 * What a task refers to and events never carry: its task definition (network mode, ports, health
 * checks) and, for bridge/host tasks, its container instance's EC2 private IP.
 *
 * Both are fetched only when unseen and cached: a task definition ARN names an immutable revision,
 * and a container instance ARN stays bound to one EC2 instance (re-registering creates a new ARN),
 * whose primary private IP does not change while it runs. The poller, the health checker and the
 * on-demand reference watcher share one resolver, so each reference costs one lookup per process:
 * - single flight: a lookup already under way is joined, never repeated;
 * - bounded: at most `concurrency` calls in flight across all callers;
 * - batched where the API allows: DescribeContainerInstances 100 a call, EC2 DescribeInstances
 *   100 ids a call, DescribeServices 10 a call (DescribeTaskDefinition takes one ARN);
 * - a negative cache with backoff (negative-cache.ts): an identifier ECS refuses, that does not
 *   parse, or whose lookup failed, waits before it is asked for again, whoever asks.
 */
import {
  type ContainerInstance,
  DescribeContainerInstancesCommand,
  type DescribeContainerInstancesCommandOutput,
  DescribeTaskDefinitionCommand,
} from '@aws-sdk/client-ecs';
import {
  type ContainerInstanceView,
  type Logger,
  parseContainerInstance,
  parseTaskDefinition,
  silentLogger,
  type TaskDefinitionView,
} from '@ecs-ingress/types';
import { AWS_CALL_ERROR_CODES, AwsCallError, awsCall } from './aws/aws-call-error.js';
import { type CallTally, chunks, logDescribeFailures } from './aws-batches.js';
import { describeServices, SERVICES_PER_CALL } from './describe-services.js';
import { describeInstanceIps } from './ec2-addresses.js';
import type { EcsReferenceResolverOptions } from './ecs-references-types.js';
import type { EventSink } from './event-sink.js';
import { ConcurrencyLimit, type FailureKind, NegativeCache } from './negative-cache.js';

export type {
  EcsReferenceResolverOptions,
  ObservationHook,
  TaskDefinitionCache,
} from './ecs-references-types.js';

/** DescribeContainerInstances takes at most 100 container instances per call. */
const CONTAINER_INSTANCES_PER_CALL = 100;
const DEFAULT_CONCURRENCY = 5;

/** Fetches unseen task definitions and container instances and emits them into the sink. */
export class EcsReferenceResolver {
  private readonly o: EcsReferenceResolverOptions;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly limit: ConcurrencyLimit;
  private readonly failed: NegativeCache;
  private readonly taskDefinitions = new Map<string, TaskDefinitionView>();
  private readonly containerInstances = new Map<string, ContainerInstanceView>();
  /** Lookups under way, by ARN: joined by any caller that wants the same ARN (single flight). */
  private readonly fetching = new Map<string, Promise<unknown>>();

  constructor(options: EcsReferenceResolverOptions) {
    this.o = options;
    this.logger = options.logger ?? silentLogger;
    this.now = options.now ?? Date.now;
    this.limit = new ConcurrencyLimit(Math.max(1, options.concurrency ?? DEFAULT_CONCURRENCY));
    this.failed = new NegativeCache({ ...options.negativeCache, now: this.now });
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

  /** The earliest time one of `arns` waiting in the negative cache may be asked for again. */
  nextRetryAt(arns: Iterable<string>): number | undefined {
    let earliest: number | undefined;
    for (const arn of arns) {
      const at = this.failed.retryAt(arn);
      if (at !== undefined && (earliest === undefined || at < earliest)) earliest = at;
    }
    return earliest;
  }

  /**
   * Fetches every task definition in `arns` not known, not under way and not waiting in the
   * negative cache (one DescribeTaskDefinition each: the API takes one), and dispatches a
   * `task-definition` event for each. A definition ECS refuses, or that does not parse, is logged
   * and negative-cached; throttling or an outage fails the call (after the calls in flight
   * settle; the rest are not started) so the caller retries later.
   * @returns how many this call fetched
   */
  async resolveTaskDefinitions(arns: Iterable<string>, tally: CallTally): Promise<number> {
    let fetched = 0;
    let failure: { error: unknown } | undefined;
    const waits: Promise<unknown>[] = [];
    for (const arn of new Set(arns)) {
      if (this.hasTaskDefinition(arn) || this.failed.blocked(arn)) continue;
      waits.push(
        this.singleFlight([arn], () =>
          this.limit.run(async () => {
            if (failure !== undefined) throw failure.error;
            try {
              if (await this.fetchTaskDefinition(arn, tally)) fetched++;
            } catch (error) {
              failure ??= { error };
              throw error;
            }
          }),
        ),
      );
    }
    await settleAll(waits);
    return fetched;
  }

  /**
   * Resolves every container instance in `arns` not known, not under way and not waiting in the
   * negative cache to its EC2 instance's private IP: DescribeContainerInstances in chunks of 100,
   * then EC2 DescribeInstances in batches. Dispatches a `container-instance` event for each one
   * resolved; the ones ECS does not know or that have no IP are negative-cached.
   * @returns how many this call resolved
   */
  async resolveContainerInstances(arns: Iterable<string>, tally: CallTally): Promise<number> {
    const fresh: string[] = [];
    const waits: Promise<unknown>[] = [];
    for (const arn of new Set(arns)) {
      if (this.hasContainerInstance(arn) || this.failed.blocked(arn)) continue;
      const under = this.fetching.get(arn);
      if (under !== undefined) waits.push(under);
      else fresh.push(arn);
    }
    let resolved = 0;
    for (const chunk of chunks(fresh, CONTAINER_INSTANCES_PER_CALL)) {
      waits.push(
        this.singleFlight(chunk, () =>
          this.limit.run(async () => {
            // Not `resolved += await …`: that reads `resolved` before the await, racing the other chunks.
            const n = await this.fetchContainerInstances(chunk, tally);
            resolved += n;
          }),
        ),
      );
    }
    await settleAll(waits);
    return resolved;
  }

  /**
   * Fetches the ECS `createdAt` of every service in `names` (of this resolver's cluster) not under
   * way and not waiting in the negative cache: DescribeServices, 10 a call. Dispatches a `service`
   * event for each one described; a service ECS does not know (`failures` MISSING) is
   * negative-cached; throttling or an outage fails the call (the chunks in flight settle) so the
   * caller retries after a backoff. The caller asks only for what the store lacks.
   * @returns how many this call described
   */
  async resolveServices(names: Iterable<string>, tally: CallTally): Promise<number> {
    const fresh: string[] = [];
    const waits: Promise<unknown>[] = [];
    for (const name of new Set(names)) {
      if (this.failed.blocked(name)) continue;
      const under = this.fetching.get(name);
      if (under !== undefined) waits.push(under);
      else fresh.push(name);
    }
    let described = 0;
    for (const chunk of chunks(fresh, SERVICES_PER_CALL)) {
      waits.push(
        this.singleFlight(chunk, () =>
          this.limit.run(async () => {
            const n = await this.fetchServices(chunk, tally);
            described += n;
          }),
        ),
      );
    }
    await settleAll(waits);
    return described;
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
    // Service names (not `arn:…`) stay: the listing says nothing of them; the cache's bound holds.
    this.failed.retainOnly(
      (key) => !key.startsWith('arn:') || taskDefinitionArns.has(key) || containerInstanceArns.has(key),
    );
  }

  /** Runs `fn` as the one lookup of `arns`: callers wanting any of them meanwhile join it. */
  private singleFlight(arns: readonly string[], fn: () => Promise<void>): Promise<unknown> {
    const existing = arns.length === 1 ? this.fetching.get(arns[0] as string) : undefined;
    if (existing !== undefined) return existing;
    const flight: Promise<unknown> = fn().finally(() => {
      for (const arn of arns) if (this.fetching.get(arn) === flight) this.fetching.delete(arn);
    });
    for (const arn of arns) this.fetching.set(arn, flight);
    return flight;
  }

  /** @returns true when fetched and dispatched; false when refused (negative-cached) */
  private async fetchTaskDefinition(arn: string, tally: CallTally): Promise<boolean> {
    const shared = this.o.sharedTaskDefinitions;
    let raw = await shared?.get(arn, tally.signal);
    if (raw === undefined) {
      try {
        const out = await awsCall('ecs', 'DescribeTaskDefinition', () => {
          tally.add('ecs', 'DescribeTaskDefinition');
          return this.o.ecs.send(
            new DescribeTaskDefinitionCommand({ taskDefinition: arn }),
            tally.sendOptions,
          );
        });
        raw = out.taskDefinition;
      } catch (err) {
        if (isRefusal(err)) {
          this.noteFailure(
            arn,
            'permanent',
            err,
            'task definition cannot be described; its tasks stay unresolved',
          );
          return false;
        }
        this.failed.fail(arn, 'transient');
        throw err;
      }
      if (!raw) {
        this.noteFailure(arn, 'permanent', undefined, 'DescribeTaskDefinition answered without a definition');
        return false;
      }
      await shared?.put(arn, raw, tally.signal);
    }
    let view: TaskDefinitionView;
    try {
      view = parseTaskDefinition(raw);
    } catch (err) {
      // Revisions are immutable: it will not parse next time either, so it is not asked for on
      // every poll; the backoff still retries it now and then (a newer ecs-ingress may read it).
      this.noteFailure(arn, 'permanent', err, 'task definition does not parse; its tasks stay unresolved');
      return false;
    }
    const at = this.now();
    this.failed.clear(arn);
    this.taskDefinitions.set(arn, view);
    // ECS may answer a revision ARN with a different spelling; cache both so it is never refetched.
    if (view.taskDefinitionArn !== arn) this.taskDefinitions.set(view.taskDefinitionArn, view);
    this.o.observe?.('Task Definition', raw, at);
    this.emit('Task Definition', { kind: 'task-definition', taskDefinition: view, observedAt: at });
    return true;
  }

  /** One DescribeContainerInstances (≤ 100) and the EC2 lookups behind it. @returns how many resolved */
  private async fetchContainerInstances(chunk: readonly string[], tally: CallTally): Promise<number> {
    let out: DescribeContainerInstancesCommandOutput;
    let ips: Map<string, string>;
    try {
      out = await awsCall('ecs', 'DescribeContainerInstances', () => {
        tally.add('ecs', 'DescribeContainerInstances');
        return this.o.ecs.send(
          new DescribeContainerInstancesCommand({ cluster: this.o.cluster, containerInstances: [...chunk] }),
          tally.sendOptions,
        );
      });
      const ids = (out.containerInstances ?? []).map((ci) => ci.ec2InstanceId).filter((id) => !!id);
      ips = await describeInstanceIps(this.o.ec2, [...new Set(ids as string[])], tally);
    } catch (err) {
      const kind: FailureKind = isRefusal(err) ? 'permanent' : 'transient';
      for (const arn of chunk) this.noteFailure(arn, kind, err, 'container instance lookup failed');
      if (kind === 'permanent') return 0;
      throw err;
    }
    logDescribeFailures(this.logger, 'DescribeContainerInstances', out.failures);
    const answered = new Set<string>();
    let resolved = 0;
    for (const ci of out.containerInstances ?? []) {
      const arn = ci.containerInstanceArn;
      if (!arn) continue;
      answered.add(arn);
      if (this.resolveOne(ci, arn, ips)) resolved++;
    }
    for (const arn of chunk) {
      // MISSING (deregistered), or not answered at all.
      if (!answered.has(arn))
        this.noteFailure(arn, 'permanent', undefined, 'container instance is unknown to ECS');
    }
    return resolved;
  }

  /** One DescribeServices (≤ 10; describe-services.ts). @returns how many were described and dispatched */
  private async fetchServices(chunk: readonly string[], tally: CallTally): Promise<number> {
    let answer: Awaited<ReturnType<typeof describeServices>>;
    try {
      answer = await describeServices(this.o.ecs, this.o.cluster, chunk, tally, this.logger);
    } catch (err) {
      const kind: FailureKind = isRefusal(err) ? 'permanent' : 'transient';
      for (const name of chunk) this.noteFailure(name, kind, err, 'service lookup failed');
      if (kind === 'permanent') return 0;
      throw err;
    }
    for (const { name, error } of answer.unparsable)
      this.noteFailure(name, 'permanent', error, 'service does not parse; it stays the youngest');
    for (const name of answer.missing)
      this.noteFailure(name, 'permanent', undefined, 'service is unknown to ECS; it stays the youngest');
    for (const { view, raw } of answer.described) {
      const at = this.now();
      this.failed.clear(view.serviceName);
      this.o.observe?.('Service Described', raw, at);
      this.emit('Service Described', { kind: 'service', service: view, observedAt: at });
    }
    return answer.described.length;
  }

  private resolveOne(ci: ContainerInstance, arn: string, ips: ReadonlyMap<string, string>): boolean {
    const ip = ci.ec2InstanceId ? ips.get(ci.ec2InstanceId) : undefined;
    if (ip === undefined) {
      // ECS Anywhere (EXTERNAL) instances have no EC2 instance; a terminated one no longer has an IP.
      this.noteFailure(
        arn,
        'permanent',
        undefined,
        'container instance has no EC2 private IP; its bridge/host tasks stay unresolved',
        { ec2InstanceId: ci.ec2InstanceId },
      );
      return false;
    }
    const detail = { containerInstanceArn: arn, ec2InstanceId: ci.ec2InstanceId, privateIpAddress: ip };
    let view: ContainerInstanceView;
    try {
      view = parseContainerInstance(detail);
    } catch (err) {
      this.noteFailure(arn, 'permanent', err, 'container instance does not parse; skipped');
      return false;
    }
    const at = this.now();
    this.failed.clear(arn);
    this.containerInstances.set(arn, view);
    this.o.observe?.('Container Instance', detail, at);
    this.emit('Container Instance', { kind: 'container-instance', containerInstance: view, observedAt: at });
    return true;
  }

  /** Negative-caches `arn`; logs at warn the first failure in a row, at debug the repeats. */
  private noteFailure(
    arn: string,
    kind: FailureKind,
    err: unknown,
    message: string,
    extra: Record<string, unknown> = {},
  ): void {
    const { waitMs, first } = this.failed.fail(arn, kind);
    const fields = { ...extra, err, arn, kind, retryInMs: waitMs, code: (err as { code?: unknown })?.code };
    if (first) this.logger.warn(fields, message);
    else this.logger.debug(fields, message);
  }

  private emit(detailType: string, event: Parameters<EventSink['dispatch']>[0]): void {
    this.o.metrics?.eventReceived(this.o.metricsSource ?? 'poller', detailType);
    const outcome = this.o.sink.dispatch(event);
    if (outcome === 'invalid')
      this.logger.warn({ kind: event.kind }, 'store rejected an observation as invalid');
  }
}

/** ECS said no to the request itself (ClientException, access denied): asking again soon will not help. */
function isRefusal(err: unknown): boolean {
  return err instanceof AwsCallError && err.code === AWS_CALL_ERROR_CODES.rejected;
}

/** Waits for every promise; then throws the first rejection, if any. */
async function settleAll(waits: readonly Promise<unknown>[]): Promise<void> {
  const results = await Promise.allSettled(waits);
  for (const r of results) if (r.status === 'rejected') throw r.reason;
}
