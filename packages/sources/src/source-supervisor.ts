/**
 * The source supervisor decides how often the poller runs, from the health of the event queue:
 *
 * - `events`: the queue is healthy, or it is configured and has not been unhealthy for longer
 *   than the grace period (default 60 s). Events carry the changes; the poller only resyncs, at
 *   start and every resync interval (default 5 min), to repair anything an event lost.
 * - `polling`: no queue is configured, or it has been failing for longer than the grace period.
 *   The poller runs every poll interval (default 10 s) until the queue is healthy again.
 *
 * A switch of mode syncs at once (entering `polling` means events may have been missed; leaving
 * it, a sync closes the gap until events flow). One sync at a time; a failed sync is logged and
 * retried with backoff (1 s doubling to 30 s, jittered), forever: the daemon keeps serving its
 * last good configuration while AWS is unreachable, and `firstSync` resolves once a sync succeeds.
 */
import { backoffDelay, EcsIngressError, type Logger, silentLogger } from '@ecs-ingress/types';
import {
  BehaviorSubject,
  catchError,
  concat,
  defer,
  distinctUntilChanged,
  exhaustMap,
  from,
  map,
  type Observable,
  of,
  repeat,
  retry,
  type SchedulerLike,
  Subject,
  Subscription,
  startWith,
  switchMap,
  tap,
  timer,
} from 'rxjs';
import { AWS_CALL_ERROR_CODES } from './aws/aws-call-error.js';
import { type AwsProblem, classifyAwsProblem } from './aws/permanent-errors.js';
import type { SyncReport } from './ecs-poller.js';
import type { SourceMetrics, SourceMode } from './source-metrics.js';

/** The part of the poller the supervisor drives. */
export interface FullSyncSource {
  /** `signal` aborts the sync's AWS calls in flight (the supervisor's `stop()`). */
  fullSync(signal?: AbortSignal): Promise<SyncReport>;
}

/** What each finished sync attempt reports to `onSync` (metrics, readiness). */
export type SyncOutcome =
  | { readonly ok: true; readonly report: SyncReport }
  | { readonly ok: false; readonly error: unknown; readonly problem: AwsProblem | undefined };

export interface SourceSupervisorOptions {
  readonly poller: FullSyncSource;
  /** Health of the event queue (the SQS source's); `undefined` when no queue is configured. */
  readonly queueHealthy$?: Observable<boolean> | undefined;
  /** Resync while events flow. Default 5 min. */
  readonly resyncIntervalMs?: number;
  /** Poll interval in `polling` mode. Default 10 s (the Go ancestor's cycle). */
  readonly pollIntervalMs?: number;
  /** How long the queue may fail before polling takes over. Default 60 s. */
  readonly graceMs?: number;
  /** Backoff after a failed sync: `initialMs` doubling up to `maxMs`. Default 1 s / 30 s. */
  readonly retry?: { readonly initialMs?: number; readonly maxMs?: number };
  readonly logger?: Logger;
  readonly metrics?: Pick<SourceMetrics, 'sourceMode'>;
  /** Every sync attempt's outcome, a failure with its permanent problem classified (aws/permanent-errors.ts). */
  readonly onSync?: (outcome: SyncOutcome) => void;
  /** Jitter source, [0, 1). Default Math.random. */
  readonly random?: () => number;
  /** rxjs scheduler for every timer (tests may pass a virtual one). */
  readonly scheduler?: SchedulerLike;
  readonly hooks?: SupervisorHooks;
}

/** What the supervisor reports beyond the mode gauge (adapted to metrics by the HTTP layer). */
export interface SupervisorHooks {
  /** A sync failed because AWS throttled it; `slowdown` is the factor now applied to the intervals. */
  onThrottled?(slowdown: number): void;
  /** A clean sync eased the slowdown (halved, down to 1). */
  onSlowdown?(slowdown: number): void;
}

/** Timers carry ±20 % jitter so daemons started together do not sync together (issue 17). */
export const SYNC_JITTER = 0.2;
/** Throttling stretches the intervals up to this factor; each clean sync halves it again. */
export const MAX_THROTTLE_SLOWDOWN = 8;

/** `ms` ± `fraction`, uniformly, from `random` in [0, 1). */
export function jittered(ms: number, random: () => number, fraction = SYNC_JITTER): number {
  return ms * (1 + fraction * (2 * random() - 1));
}

/** `firstSync` rejects with this when the supervisor stops before any sync succeeded. */
export class SourcesStoppedError extends EcsIngressError {
  constructor() {
    super(
      'ECS_INGRESS_SOURCES_STOPPED',
      'the source supervisor stopped before the first full sync succeeded',
    );
  }
}

const DEFAULTS = {
  resyncIntervalMs: 5 * 60_000,
  pollIntervalMs: 10_000,
  graceMs: 60_000,
  retryInitialMs: 1_000,
  retryMaxMs: 30_000,
} as const;

export class SourceSupervisor {
  /** The current mode, replayed to new subscribers; distinct values only. */
  readonly mode$: Observable<SourceMode>;
  /** Every successful sync's report. */
  readonly syncs$: Observable<SyncReport>;
  /** Resolves after the first successful full sync (start-up readiness). */
  readonly firstSync: Promise<SyncReport>;

  private readonly o: SourceSupervisorOptions;
  private readonly logger: Logger;
  private readonly random: () => number;
  private readonly mode: BehaviorSubject<SourceMode>;
  private readonly syncs = new Subject<SyncReport>();
  private resolveFirst!: (report: SyncReport) => void;
  private rejectFirst!: (err: unknown) => void;
  private firstDone = false;
  private subscription: Subscription | undefined;
  private inFlight: Promise<unknown> | undefined;
  private readonly abort = new AbortController();
  private problem: AwsProblem | undefined;
  /** ≥ 1: the factor throttling put on the intervals and retry delays (adaptive slowdown). */
  private slowdown = 1;

  constructor(options: SourceSupervisorOptions) {
    this.o = options;
    this.logger = (options.logger ?? silentLogger).child({ component: 'source-supervisor' });
    this.random = options.random ?? Math.random;
    for (const key of ['resyncIntervalMs', 'pollIntervalMs', 'graceMs'] as const) {
      const v = options[key];
      if (v !== undefined && !(v > 0)) throw new RangeError(`${key} must be > 0, got ${v}`);
    }
    this.mode = new BehaviorSubject<SourceMode>(options.queueHealthy$ ? 'events' : 'polling');
    this.mode$ = this.mode.pipe(distinctUntilChanged());
    this.syncs$ = this.syncs.asObservable();
    this.firstSync = new Promise<SyncReport>((resolve, reject) => {
      this.resolveFirst = resolve;
      this.rejectFirst = reject;
    });
    // Marked handled: a caller that never awaits it must not crash the process on stop().
    this.firstSync.catch(() => {});
  }

  /** The current mode. */
  get currentMode(): SourceMode {
    return this.mode.value;
  }

  /** The permanent AWS problem failing every sync since the last success, if any. */
  get currentProblem(): AwsProblem | undefined {
    return this.problem;
  }

  /** Starts watching the queue and syncing. Idempotent. */
  start(): void {
    if (this.subscription) return;
    this.setMode(this.mode.value, true);
    // A fresh parent: the queue's mode stream may complete synchronously (no queue), and adding
    // to an already closed subscription would tear the sync loop down at once.
    const sub = new Subscription();
    sub.add(this.modeFromQueue().subscribe((m) => this.setMode(m, false)));
    sub.add(
      this.mode
        .pipe(
          distinctUntilChanged(),
          switchMap((m) =>
            this.ticks(
              m === 'events'
                ? (this.o.resyncIntervalMs ?? DEFAULTS.resyncIntervalMs)
                : (this.o.pollIntervalMs ?? DEFAULTS.pollIntervalMs),
            ),
          ),
          // A tick while a sync (or its retries) is under way is dropped, never queued.
          exhaustMap(() => this.syncUntilSuccess()),
        )
        .subscribe(),
    );
    this.subscription = sub;
  }

  /** The factor throttling currently puts on the intervals (1 = none). */
  get throttleSlowdown(): number {
    return this.slowdown;
  }

  /** One tick at once, then one every `intervalMs` ± 20 % × the throttling slowdown, each gap drawn anew. */
  private ticks(intervalMs: number): Observable<unknown> {
    return concat(
      of(0),
      defer(() => timer(jittered(intervalMs * this.slowdown, this.random), this.o.scheduler)).pipe(repeat()),
    );
  }

  /** Stops timers and retries, aborts the sync in flight (its AWS calls) and waits for it to settle. */
  async stop(): Promise<void> {
    this.subscription?.unsubscribe();
    this.subscription = undefined;
    this.abort.abort();
    await this.inFlight?.catch(() => {});
    if (!this.firstDone) {
      this.firstDone = true;
      this.rejectFirst(new SourcesStoppedError());
    }
    this.syncs.complete();
  }

  /** `events` / `polling` from the queue's health (see the file comment). */
  private modeFromQueue(): Observable<SourceMode> {
    const healthy$ = this.o.queueHealthy$;
    if (!healthy$) return of('polling');
    const grace = this.o.graceMs ?? DEFAULTS.graceMs;
    return healthy$.pipe(
      catchError((err: unknown) => {
        this.logger.warn({ err }, 'queue health stream failed; treating the queue as unhealthy');
        return of(false);
      }),
      // Until the queue first reports healthy it counts as not healthy yet: the grace period runs
      // from start-up, so a queue that never works still leads to polling.
      startWith(false),
      distinctUntilChanged(),
      switchMap((ok) =>
        ok
          ? of<SourceMode>('events')
          : timer(grace, this.o.scheduler).pipe(
              map((): SourceMode => 'polling'),
              startWith<SourceMode>('events'),
            ),
      ),
      distinctUntilChanged(),
    );
  }

  private setMode(next: SourceMode, initial: boolean): void {
    const previous = this.mode.value;
    this.o.metrics?.sourceMode(next);
    if (initial) {
      this.logger.info({ mode: next }, 'source mode');
    } else if (next !== previous) {
      if (next === 'polling') {
        this.logger.warn(
          { mode: next, previous },
          'event queue unhealthy beyond the grace period; polling ECS',
        );
      } else {
        this.logger.info({ mode: next, previous }, 'event queue healthy again; back to events with resyncs');
      }
    }
    if (next !== previous) this.mode.next(next);
  }

  /** One sync, retried with backoff until it succeeds (or the subscription ends). */
  private syncUntilSuccess(): Observable<SyncReport> {
    const initialMs = this.o.retry?.initialMs ?? DEFAULTS.retryInitialMs;
    const maxMs = Math.max(initialMs, this.o.retry?.maxMs ?? DEFAULTS.retryMaxMs);
    return defer(() => {
      const sync = this.o.poller.fullSync(this.abort.signal);
      this.inFlight = sync;
      return from(sync);
    }).pipe(
      retry({
        delay: (err: unknown, attempt: number) => {
          const problem = classifyAwsProblem(err);
          const throttled = (err as { code?: unknown }).code === AWS_CALL_ERROR_CODES.throttled;
          if (throttled) {
            // ECS throttles per account and Region: every client there suffers. Back off further
            // and keep the longer intervals until syncs pass cleanly again.
            this.slowdown = Math.min(MAX_THROTTLE_SLOWDOWN, this.slowdown * 2);
            this.o.hooks?.onThrottled?.(this.slowdown);
          }
          // A permanent problem waits the longest backoff: retrying soon cannot help, but a fixed
          // policy or a created cluster heals without a restart.
          const delayMs =
            backoffDelay(problem ? Number.MAX_SAFE_INTEGER : attempt, { initialMs, maxMs }, this.random) *
            (throttled ? this.slowdown : 1);
          this.reportFailure(err, problem, attempt, delayMs);
          return timer(delayMs, this.o.scheduler);
        },
      }),
      tap((report) => {
        if (this.problem !== undefined) {
          this.logger.info(
            { reason: this.problem.reason },
            'full sync succeeded again; AWS problem resolved',
          );
          this.problem = undefined;
        }
        this.o.onSync?.({ ok: true, report });
        if (this.slowdown > 1) {
          this.slowdown = Math.max(1, this.slowdown / 2);
          this.o.hooks?.onSlowdown?.(this.slowdown);
        }
        if (!this.firstDone) {
          this.firstDone = true;
          this.resolveFirst(report);
          this.logger.info(
            { tasks: report.tasks, services: report.services, calls: report.totalCalls },
            'first full sync done',
          );
        }
        this.syncs.next(report);
      }),
    );
  }

  /**
   * A permanent problem is logged at `error` once (again only when it changes), with what to check;
   * its retries at `debug`. Anything else is a `warn` per retry, as outages and throttling pass.
   */
  private reportFailure(err: unknown, problem: AwsProblem | undefined, attempt: number, retryInMs: number) {
    this.o.onSync?.({ ok: false, error: err, problem });
    if (problem === undefined) {
      // `currentProblem` stays until a sync succeeds: an outage in between does not fix a policy.
      this.logger.warn(
        { err, code: (err as { code?: unknown }).code, attempt, retryInMs },
        'full sync failed; retrying',
      );
      return;
    }
    const repeated = this.problem?.code === problem.code;
    this.problem = problem;
    const fields = { code: problem.code, reason: problem.reason, hint: problem.hint, attempt, retryInMs };
    if (repeated) this.logger.debug(fields, `full sync still failing: ${problem.message}`);
    else this.logger.error(fields, `full sync failed: ${problem.message}; ${problem.hint}`);
  }
}
