/**
 * The health checker. ECS task state change events carry no health we can trust, so a task whose
 * definition declares a container health check is admitted only once DescribeTasks says HEALTHY.
 * Every interval (default 2 s) this describes just the tasks the store says await health, 100 per
 * call (the DescribeTasks maximum), and dispatches each answer as a `described` task observation,
 * until the store stops listing the task (HEALTHY, stopped, or gone). Nothing awaits: no calls.
 *
 * A task DescribeTasks no longer knows (MISSING: stopped more than about an hour ago) is not asked
 * for again while the store still lists it. Task definitions and container instances the described
 * tasks refer to and the store lacks are fetched through the shared reference resolver.
 * Errors are logged and back off (doubling up to a cap); the loop never throws.
 */
import { DescribeTasksCommand, type ECSClient } from '@aws-sdk/client-ecs';
import {
  backoffDelay,
  EventParseError,
  type Logger,
  parseDescribedTask,
  silentLogger,
  type TaskSnapshot,
} from '@ecs-ingress/types';
import { awsCall } from './aws/aws-call-error.js';
import { CallTally, chunks, DESCRIBE_TASKS_PER_CALL, logDescribeFailures } from './aws-batches.js';
import type { EcsReferenceResolver, ObservationHook } from './ecs-references.js';
import type { EventSink } from './event-sink.js';
import type { SourceMetrics } from './source-metrics.js';

const DEFAULT_INTERVAL_MS = 2_000;
const DEFAULT_MAX_BACKOFF_MS = 30_000;

export interface HealthCheckerOptions {
  readonly ecs: ECSClient;
  /** Cluster name or ARN (DescribeTasks is scoped to a cluster). */
  readonly cluster: string;
  readonly sink: EventSink;
  /** Task ARNs that are RUNNING, have a health check, and are not HEALTHY yet (from the store). */
  readonly awaitingHealth: () => readonly string[];
  /** Fetches task definitions / container instances the store lacks (usually `poller.references`). */
  readonly references?: EcsReferenceResolver;
  readonly logger?: Logger;
  readonly metrics?: Pick<SourceMetrics, 'eventReceived' | 'tasksAwaitingHealth'>;
  /** Raw DescribeTasks tasks, for `record` (`Task Described`). */
  readonly observe?: ObservationHook;
  /** Time between checks. Default 2 s. */
  readonly intervalMs?: number;
  /** Longest wait after repeated failures. Default 30 s. */
  readonly maxBackoffMs?: number;
  readonly now?: () => number;
  /** Jitter source, [0, 1). Default Math.random. */
  readonly random?: () => number;
}

/** What one check did. */
export interface HealthCheckReport {
  /** Tasks asked about. */
  readonly described: number;
  /** Observations dispatched. */
  readonly dispatched: number;
  /** Tasks DescribeTasks reported MISSING. */
  readonly missing: number;
  readonly calls: Readonly<Record<string, number>>;
}

export class HealthChecker {
  private readonly o: HealthCheckerOptions;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly intervalMs: number;
  private readonly maxBackoffMs: number;
  /** ARNs DescribeTasks reported MISSING, skipped while the store still lists them. */
  private readonly missing = new Set<string>();
  private running = false;
  private timer: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private failures = 0;
  /** Aborts a check's AWS calls in flight at `stop()`. */
  private readonly abort = new AbortController();

  constructor(options: HealthCheckerOptions) {
    this.o = options;
    this.logger = (options.logger ?? silentLogger).child({ component: 'health-checker' });
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.intervalMs = options.intervalMs ?? DEFAULT_INTERVAL_MS;
    this.maxBackoffMs = Math.max(this.intervalMs, options.maxBackoffMs ?? DEFAULT_MAX_BACKOFF_MS);
    if (!(this.intervalMs > 0)) throw new RangeError(`intervalMs must be > 0, got ${this.intervalMs}`);
  }

  /** Starts checking every interval (the first check after one interval). Idempotent. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Stops the loop, aborts a check in flight (its AWS calls) and waits for it to settle. */
  async stop(): Promise<void> {
    this.running = false;
    this.abort.abort();
    if (this.timer) clearTimeout(this.timer);
    this.wake?.();
    await this.loop;
    this.loop = undefined;
  }

  /**
   * One check: describes the awaiting tasks and dispatches what ECS answered.
   * @throws AwsCallError when DescribeTasks fails after the SDK's retries (the loop catches it)
   */
  async checkOnce(): Promise<HealthCheckReport> {
    const tally = new CallTally(this.abort.signal);
    const awaiting = [...new Set(this.o.awaitingHealth())];
    this.o.metrics?.tasksAwaitingHealth(awaiting.length);
    // Forget MISSING marks of tasks the store no longer lists, so the set stays bounded.
    const listed = new Set(awaiting);
    for (const arn of this.missing) if (!listed.has(arn)) this.missing.delete(arn);
    const wanted = awaiting.filter((arn) => !this.missing.has(arn));
    if (wanted.length === 0) return { described: 0, dispatched: 0, missing: 0, calls: {} };

    let missing = 0;
    const described: { raw: unknown; task: TaskSnapshot }[] = [];
    for (const batch of chunks(wanted, DESCRIBE_TASKS_PER_CALL)) {
      const out = await awsCall('ecs', 'DescribeTasks', () => {
        tally.add('ecs', 'DescribeTasks');
        return this.o.ecs.send(
          new DescribeTasksCommand({ cluster: this.o.cluster, tasks: batch }),
          tally.sendOptions,
        );
      });
      const at = this.now();
      for (const f of out.failures ?? []) {
        if (f.reason === 'MISSING' && f.arn) {
          // Failures name the ARN as ECS spells it; match on the id so a short ARN still maps.
          const id = f.arn.slice(f.arn.lastIndexOf('/') + 1);
          for (const arn of batch) if (arn === f.arn || arn.endsWith(`/${id}`)) this.missing.add(arn);
          missing++;
        }
      }
      logDescribeFailures(this.logger, 'DescribeTasks', out.failures);
      for (const raw of out.tasks ?? []) {
        try {
          described.push({ raw, task: parseDescribedTask(raw, at, 'described') });
        } catch (err) {
          this.logger.warn(
            { err, taskArn: raw.taskArn, reason: err instanceof EventParseError ? err.reason : undefined },
            'described task does not parse; skipped',
          );
        }
      }
    }

    // References first, so the store can derive each task the moment it sees it. A failure here
    // must not hold back the health answers already in hand: dispatch them, then report it.
    let referenceError: unknown;
    try {
      await this.resolveReferences(
        described.map((d) => d.task),
        tally,
      );
    } catch (err) {
      referenceError = err;
    }
    for (const { raw, task } of described) {
      this.o.observe?.('Task Described', raw, task.observedAt);
      this.o.metrics?.eventReceived('health', 'Task Described');
      this.o.sink.dispatch({ kind: 'task', task });
    }
    if (referenceError !== undefined) throw referenceError;
    return { described: wanted.length, dispatched: described.length, missing, calls: tally.toRecord() };
  }

  private async resolveReferences(tasks: readonly TaskSnapshot[], tally: CallTally): Promise<void> {
    const references = this.o.references;
    if (!references || tasks.length === 0) return;
    await references.resolveTaskDefinitions(
      tasks.map((t) => t.taskDefinitionArn),
      tally,
    );
    const instances: string[] = [];
    for (const t of tasks) {
      if (!t.containerInstanceArn) continue;
      const mode = references.taskDefinition(t.taskDefinitionArn)?.networkMode;
      if (mode === undefined || mode === 'bridge' || mode === 'host') instances.push(t.containerInstanceArn);
    }
    await references.resolveContainerInstances(instances, tally);
  }

  private async run(): Promise<void> {
    while (this.running) {
      await this.sleep(this.nextDelay());
      if (!this.running) return;
      try {
        await this.checkOnce();
        this.failures = 0;
      } catch (err) {
        // Aborted by stop(): not a failure worth a line.
        if (!this.running) return;
        this.failures++;
        this.logger.warn(
          { err, code: (err as { code?: unknown }).code, failures: this.failures },
          'health check failed; backing off',
        );
      }
    }
  }

  /** The interval, or after n failures the shared backoff from interval·2 (jittered, capped). */
  private nextDelay(): number {
    if (this.failures === 0) return this.intervalMs;
    return backoffDelay(
      this.failures + 1,
      { initialMs: this.intervalMs, maxMs: this.maxBackoffMs },
      this.random,
    );
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wake = resolve;
      this.timer = setTimeout(resolve, ms);
    });
  }
}
