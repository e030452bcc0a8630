/**
 * The reconciler's public face (pipeline.ts implements it): its options, the records of applied
 * and failed configs, the metric hooks, and the handle `createReconciler` returns.
 */
import type { Logger } from '@ecs-ingress/types';
import type { Observable, ObservableInput, SchedulerLike } from 'rxjs';
import type { ApplyStage, ConfigApplier, RenderedConfig } from './types.js';

/** A config that went live. */
export interface AppliedChange {
  readonly hash: string;
  /** When the apply ended (reconciler clock, ms). */
  readonly at: number;
  /** The applier's duration (write + test + reload + confirm); 0 for `setInitialApplied`. */
  readonly durationMs: number;
  /** The reload alone, when the applier measured it. */
  readonly reloadDurationMs?: number;
  /** `false` when the config went live without an NGINX reload (see `ApplyResult`); absent = reloaded. */
  readonly reloaded?: boolean;
  /** From the first pending change to `at`: the event-to-serving latency. */
  readonly latencyMs: number;
  /** `RenderedConfig.meta` of what was applied. */
  readonly meta: unknown;
}

/** A config that failed to go live; the previous one keeps serving. */
export interface ApplyFailure {
  readonly hash: string;
  readonly at: number;
  readonly stage: ApplyStage;
  readonly error: Error;
  /** `true` when a reload went live before the failure (see `ApplyResult`). */
  readonly reloaded?: boolean;
  readonly latencyMs: number;
  readonly meta: unknown;
}

export type ApplyOutcome = ({ readonly ok: true } & AppliedChange) | ({ readonly ok: false } & ApplyFailure);

/** Minimal hooks for Prometheus counters; the controller wires them to `createMetrics()`. */
export interface ReconcilerMetrics {
  /**
   * Once per rendered state. `changed`: the output differs from what is applied, in flight and
   * already pending, and is not a known-failed output (i.e. it (re)scheduled an apply).
   */
  onRender(changed: boolean): void;
  onApply(outcome: ApplyOutcome): void;
  onRenderError?(error: Error): void;
}

export interface ReconcilerOptions<S> {
  state$: Observable<S>;
  /** Pure: the whole config for a state. A throw skips that state (logged, counted). */
  render: (state: S) => RenderedConfig;
  applier: ConfigApplier;
  /** Defaults: minMs 200, maxMs 2000. */
  debounce?: { minMs?: number; maxMs?: number };
  /** Default 1000, measured from the end of the previous apply. */
  minReloadIntervalMs?: number;
  /**
   * Nothing is rendered or applied until this emits (the first full sync); then the latest state is
   * applied at once if it differs. Without it, the gate is open from the start.
   */
  startWhen?: ObservableInput<unknown>;
  /**
   * A second, shorter debounce for changes that are cheap to apply (see the file comment).
   * `isQuick(next, baselineMeta)`: `baselineMeta` is the `meta` of the config in flight, else of
   * the applied one; never asked while nothing is applied (the first apply is never quick). A throw
   * counts as "not quick". Defaults: minMs 0, maxMs 100.
   */
  quickChange?: {
    isQuick(next: RenderedConfig, baselineMeta: unknown): boolean;
    debounce?: { minMs?: number; maxMs?: number };
  };
  /**
   * Timers run here (default `asyncScheduler`; a debounce already over runs on `asapScheduler`);
   * tests pass a virtual one, which then runs both.
   */
  scheduler?: SchedulerLike;
  logger?: Logger;
  metrics?: ReconcilerMetrics;
  /** Clock for `at`/latency (default `scheduler.now()`). */
  now?: () => number;
}

export interface Reconciler {
  /** One value per config that went live (hot). Completes on `stop()`. */
  readonly applied$: Observable<AppliedChange>;
  /** One value per failed apply (hot). Completes on `stop()`. */
  readonly failures$: Observable<ApplyFailure>;
  lastApplied(): AppliedChange | undefined;
  /**
   * Applies what is pending now, ignoring the debounce and the reload spacing; waits for the apply in
   * flight first, and resolves when no apply is running. Respects `startWhen`. Never rejects.
   */
  flush(): Promise<void>;
  /** Stops listening and cancels pending work; resolves once the apply in flight (if any) ended. */
  stop(): Promise<void>;
  /** The config NGINX already runs (started from the last known good file) counts as applied. */
  setInitialApplied(hash: string, meta?: unknown): void;
  /**
   * Forgets the output that failed and reconsiders the latest state, so it is applied again (with
   * the debounce). For a failure that said nothing about the config: NGINX died during the apply
   * and came back on the restored files, and the same output would otherwise wait for an unrelated
   * change. A no-op when nothing failed.
   */
  retryFailed(): void;
}
