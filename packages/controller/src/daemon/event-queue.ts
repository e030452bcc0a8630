/**
 * The event queue of a daemon (or a recorder), whatever its mode:
 * - `per-instance`: ensure this daemon's queue + EventBridge rule (DESIGN.md "Fan-out"), reap the
 *   stale ones of dead daemons, refresh the heartbeat tag every interval (well under the reaper's
 *   age limit), and tear both down at stop;
 * - `shared`: consume the user's queue, create and remove nothing;
 * - `none`: no queue; the supervisor polls.
 *
 * AWS may be unreachable at start-up. The daemon must not crash for that, so a failed set-up is
 * retried in the background (1 s doubling to 60 s, jittered) while the supervisor polls, and the
 * SQS source starts once the queue exists. `healthy$` is false until then.
 */
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { LazyClient, ProvisioningAction, QueueProvision } from '@ecs-ingress/sources';
import {
  classifyAwsProblem,
  ensureInstanceQueue,
  reapStale,
  teardownInstanceQueue,
  useSharedQueue,
} from '@ecs-ingress/sources';
import { backoffDelay, type Logger } from '@ecs-ingress/types';
import { BehaviorSubject, type Observable, of, switchMap } from 'rxjs';
import type { QueueMode } from '../config/env.js';
import { errorFields } from '../log/error-fields.js';

/** What the event queue needs to know; a subset of the daemon's configuration. */
export interface EventQueueSettings {
  readonly mode: QueueMode;
  readonly url?: string;
  readonly instanceId: string;
  readonly prefix: string;
  readonly heartbeatIntervalMs: number;
  /** Reap stale queues and rules at start and every this often; 0 disables reaping. */
  readonly reapAfterMs: number;
}

/** The consumer started once the queue exists (the SQS source). */
export interface QueueConsumer {
  readonly healthy$: Observable<boolean>;
  start(): void;
  stop(): Promise<void>;
}

export interface EventQueueOptions {
  readonly settings: EventQueueSettings;
  readonly sqs: SQSClient;
  /** Built at the first call that needs it (per-instance mode only). */
  readonly events: LazyClient<EventBridgeClient>;
  /**
   * Resolves the cluster's ARN (per-instance mode: the rule matches `detail.clusterArn` exactly);
   * `signal` aborts the lookup at stop().
   */
  readonly clusterArn: (signal?: AbortSignal) => Promise<string>;
  /** Builds the consumer for a queue URL. */
  readonly consume: (queueUrl: string) => QueueConsumer;
  /** Called when the queue came up after a failed first attempt (events may have been missed: resync). */
  readonly onLateStart?: () => void;
  readonly logger: Logger;
  /** Set-up retry backoff. Default 1 s doubling to 60 s. */
  readonly retry?: { readonly initialMs?: number; readonly maxMs?: number };
  readonly random?: () => number;
}

export class EventQueue {
  /** `undefined` in `none` mode: there is no queue whose health could matter. */
  readonly healthy$: Observable<boolean> | undefined;
  private readonly o: EventQueueOptions;
  private readonly logger: Logger;
  private readonly consumer = new BehaviorSubject<QueueConsumer | undefined>(undefined);
  private provision: QueueProvision | undefined;
  private readonly timers = new Set<NodeJS.Timeout>();
  private stopped = false;
  private attempts = 0;
  private setupInFlight: Promise<boolean> | undefined;
  /** The code of the permanent problem last logged at `error`, so its retries stay quiet. */
  private lastProblem: string | undefined;
  /** Aborts set-up calls in flight at stop(): SIGTERM must not wait for a slow SQS or EventBridge. */
  private readonly setupAbort = new AbortController();
  /** Per-instance: the cluster a set-up began creating for, so stop() can remove a partial one. */
  private setupClusterArn: string | undefined;

  constructor(options: EventQueueOptions) {
    this.o = options;
    this.logger = options.logger.child({ component: 'event-queue' });
    this.healthy$ =
      options.settings.mode === 'none'
        ? undefined
        : this.consumer.pipe(switchMap((c) => (c === undefined ? of(false) : c.healthy$)));
  }

  /** The queue URL once set up. */
  get queueUrl(): string | undefined {
    return this.provision?.queueUrl;
  }

  /** What set-up created or refreshed (per-instance). */
  get actions(): readonly ProvisioningAction[] {
    return this.provision?.actions ?? [];
  }

  /**
   * One set-up attempt; on failure, retries continue in the background. Never rejects.
   * @returns true when the queue is up (or there is none to set up)
   */
  start(): Promise<boolean> {
    if (this.o.settings.mode === 'none') return Promise.resolve(true);
    return this.attempt(false);
  }

  /** Stops the consumer and the timers; per-instance: deletes the rule and the queue. */
  async stop(): Promise<ProvisioningAction[]> {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    // Only a set-up still under way is aborted: a finished one's clients serve its teardown below.
    if (this.provision === undefined) this.setupAbort.abort();
    await this.setupInFlight?.catch(() => false);
    await this.consumer.value?.stop();
    this.consumer.next(undefined);
    this.consumer.complete();
    const provision = this.provision;
    this.provision = undefined;
    if (
      provision === undefined &&
      this.setupClusterArn !== undefined &&
      this.o.settings.mode === 'per-instance'
    ) {
      // A set-up cut short may have created the rule or the queue already: remove them by name.
      const s = this.o.settings;
      return teardownInstanceQueue({
        sqs: this.o.sqs,
        events: this.o.events,
        clusterArn: this.setupClusterArn,
        instanceId: s.instanceId,
        prefix: s.prefix,
        logger: this.logger,
      });
    }
    if (provision === undefined || provision.mode !== 'per-instance') return [];
    return provision.teardown();
  }

  private attempt(late: boolean): Promise<boolean> {
    const run = this.setUp().then(
      () => {
        if (late && !this.stopped) this.o.onLateStart?.();
        return !this.stopped;
      },
      (err: unknown) => {
        // Aborted by stop(): not a failure, and no retry.
        if (this.stopped) return false;
        this.attempts += 1;
        const delay = this.backoff();
        // A permanent problem (access denied, no credentials…) is said once, with what to check.
        const problem = classifyAwsProblem(err);
        const repeated = problem !== undefined && problem.code === this.lastProblem;
        this.lastProblem = problem?.code;
        const fields = problem
          ? { code: problem.code, reason: problem.reason, hint: problem.hint, retryInMs: delay }
          : {
              // Retried every few seconds: the error without its stack (errorFields), once per line.
              error: errorFields(err),
              code: (err as { code?: unknown }).code ?? 'ECS_INGRESS_PROVISIONING_FAILED',
              retryInMs: delay,
            };
        const message = problem
          ? `event queue set-up failed: ${problem.message}; ${problem.hint}; polling ECS until it succeeds`
          : 'event queue set-up failed; polling ECS until it succeeds';
        if (repeated) this.logger.debug(fields, message);
        else this.logger.error(fields, message);
        this.later(delay, () => void this.attempt(true));
        return false;
      },
    );
    this.setupInFlight = run;
    return run;
  }

  private async setUp(): Promise<void> {
    const s = this.o.settings;
    if (this.stopped) return;
    let provision: QueueProvision;
    let clusterArn: string | undefined;
    if (s.mode === 'shared') {
      if (s.url === undefined) throw new Error('shared queue mode without a queue URL');
      provision = useSharedQueue(s.url);
    } else {
      clusterArn = await this.o.clusterArn(this.setupAbort.signal);
      if (this.stopped) return;
      this.setupClusterArn = clusterArn;
      const signal = this.setupAbort.signal;
      provision = await ensureInstanceQueue({
        sqs: withAbortSignal(this.o.sqs, signal),
        events: async () => withAbortSignal(await this.o.events(), signal),
        clusterArn,
        instanceId: s.instanceId,
        prefix: s.prefix,
        logger: this.logger,
      });
    }
    // stop() came while we were creating: it removes what was created, by name.
    if (this.stopped) return;
    this.provision = provision;
    const consumer = this.o.consume(provision.queueUrl);
    consumer.start();
    this.consumer.next(consumer);
    this.logger.info({ mode: provision.mode, queueUrl: provision.queueUrl }, 'consuming the event queue');
    if (provision.mode === 'per-instance' && clusterArn !== undefined) {
      this.every(s.heartbeatIntervalMs, async () => {
        await provision.heartbeat();
        this.logger.debug({ queueUrl: provision.queueUrl }, 'queue heartbeat refreshed');
      });
      if (s.reapAfterMs > 0) {
        const arn = clusterArn;
        const reap = async () => {
          const reaped = await reapStale({
            sqs: this.o.sqs,
            events: this.o.events,
            clusterArn: arn,
            prefix: s.prefix,
            maxAgeMs: s.reapAfterMs,
            ownInstanceId: s.instanceId,
            logger: this.logger,
          });
          const deleted = reaped.filter((a) => a.action === 'deleted');
          if (deleted.length > 0)
            this.logger.info({ deleted: deleted.length }, 'reaped stale queues and rules');
        };
        void reap().catch((err: unknown) => this.logger.warn({ err }, 'reaping stale queues failed'));
        this.every(s.reapAfterMs, reap);
      }
    }
  }

  /** Runs `fn` every `ms` until stop; failures are logged, never thrown. */
  private every(ms: number, fn: () => Promise<void>): void {
    this.later(ms, async () => {
      try {
        await fn();
      } catch (err) {
        this.logger.warn({ err }, 'periodic queue maintenance failed; will retry');
      }
      if (!this.stopped) this.every(ms, fn);
    });
  }

  private later(ms: number, fn: () => unknown): void {
    if (this.stopped) return;
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (!this.stopped) fn();
    }, ms);
    // Maintenance alone must not keep a process alive that is otherwise done.
    t.unref();
    this.timers.add(t);
  }

  private backoff(): number {
    const initialMs = this.o.retry?.initialMs ?? 1000;
    return backoffDelay(
      this.attempts,
      { initialMs, maxMs: this.o.retry?.maxMs ?? 60_000 },
      this.o.random ?? Math.random,
    );
  }
}

/**
 * `client` whose every `send` carries `signal`, for the provisioning functions, which take plain
 * clients: their calls then end when the set-up is aborted.
 */
function withAbortSignal<C extends object>(client: C, signal: AbortSignal): C {
  return new Proxy(client, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (property !== 'send' || typeof value !== 'function') return value;
      return (command: unknown, options?: object) =>
        (value as (c: unknown, o: object) => Promise<unknown>).call(target, command, {
          ...options,
          abortSignal: signal,
        });
    },
  });
}
