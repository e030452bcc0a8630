/**
 * The reconciler (DESIGN.md "Reconciler"): every state is rendered whole and its hash compared with
 * what was last APPLIED; only a difference schedules an apply. Events trigger, state decides.
 *
 * Timing, consul-template `wait` style:
 * - an apply starts after `debounce.minMs` without a new rendered change, but never later than
 *   `debounce.maxMs` after the FIRST pending change;
 * - one apply in flight at a time; changes during it collapse into one follow-up with the latest
 *   state (none when the latest renders to what is in flight);
 * - an apply never starts less than `minReloadIntervalMs` after the previous one ENDED, so a storm
 *   cannot pile up generations of old NGINX workers. This spacing wins over `maxMs`;
 * - a config is recorded as applied only after the applier succeeded. A failed hash is not retried
 *   until a render produces different output (any different output, even the previous one);
 * - optional `quickChange`: a change the caller calls cheap (dynamic mode: endpoint-only, one
 *   loopback POST, no reload) waits its own, much shorter debounce (default min 0 / max 100 ms) and
 *   no reload spacing. A debounce that is already over (min 0) is not a timer: the apply starts in a
 *   microtask (`asapScheduler`), once the code that changed the state has run, so what a
 *   synchronous batch of events changes is coalesced into one apply, and the process never sleeps
 *   between a change and its push (a 0 ms timer is ≥ 1 ms in Node, and on a busy machine the
 *   wake-up after it can take several more). The one-in-flight and follow-up rules still hold. Whether a pending change is quick is judged against the config
 *   in flight, else the applied one, and judged again when that baseline changes.
 *
 * Inputs and outputs are rxjs Observables; the scheduling core is a small state machine whose
 * timers run on an rxjs `SchedulerLike`, because `flush()` and the follow-up rule need to see and
 * change what is pending, which a chain of stock operators hides.
 *
 * Latency: `latencyMs` of an applied change = end of the apply − `firstPendingAt`, the time of the
 * first state emission whose render differed from the applied (or in-flight) config. For the first
 * apply after `startWhen`, states are not rendered before the gate opens, so it counts from the
 * gate opening.
 */
import { silentLogger } from '@ecs-ingress/types';
import { asapScheduler, asyncScheduler, from, Subject, Subscription, take } from 'rxjs';
import { ApplyUnexpectedError, RenderFailedError } from './errors.js';
import type { AppliedChange, ApplyFailure, Reconciler, ReconcilerOptions } from './reconciler-types.js';
import { reconcilerTiming } from './timing.js';
import type { ApplyResult, RenderedConfig } from './types.js';

export type {
  AppliedChange,
  ApplyFailure,
  ApplyOutcome,
  Reconciler,
  ReconcilerMetrics,
  ReconcilerOptions,
} from './reconciler-types.js';

interface Pending {
  config: RenderedConfig;
  readonly firstPendingAt: number;
  /** The latest state emission that changed the pending output (the quiet time counts from it). */
  lastChangeAt: number;
  /** Its debounce expired (quiet or max): apply as soon as nothing in flight and spacing allow. */
  due: boolean;
}

interface InFlight {
  readonly config: RenderedConfig;
  readonly done: Promise<void>;
}

/** A render waits at least this many times the previous render's duration after it (see `renderSoon`). */
const RENDER_SPACING_FACTOR = 4;

export function createReconciler<S>(options: ReconcilerOptions<S>): Reconciler {
  const { slowWait, quickWait, minReloadIntervalMs } = reconcilerTiming(options);
  const quick = options.quickChange;
  const scheduler = options.scheduler ?? asyncScheduler;
  /** For work due now: a microtask, not a 0 ms timer (see the file comment). */
  const soon = options.scheduler ?? asapScheduler;
  const now = options.now ?? (() => scheduler.now());
  const logger = (options.logger ?? silentLogger).child({ component: 'reconciler' });
  const { applier, render, metrics } = options;

  const applied$ = new Subject<AppliedChange>();
  const failures$ = new Subject<ApplyFailure>();
  const inputs = new Subscription();

  let gateOpen = options.startWhen === undefined;
  /** Latest state seen while the gate is closed (boxed: `S` may itself be undefined). */
  let gatedState: { value: S } | undefined;
  /** Latest state seen with the gate open, for `retryFailed()`. */
  let latestState: { value: S } | undefined;
  /** The render of `latestState` waiting for the code that changed it to finish (see `renderSoon`). */
  let renderAction: Subscription | undefined;
  /** When the first of the changes that render will cover arrived. */
  let renderFrom: number | undefined;
  let lastRenderEndAt = Number.NEGATIVE_INFINITY;
  let lastRenderMs = 0;
  let applied: AppliedChange | undefined;
  let failedHash: string | undefined;
  let pending: Pending | undefined;
  let inFlight: InFlight | undefined;
  let lastApplyEndAt: number | undefined;
  let stopped = false;
  /** Fires when the pending change's debounce ends: min(last change + minMs, first + maxMs). */
  let debounceTimer: Subscription | undefined;
  let spacingTimer: Subscription | undefined;

  /** Hooks are observers; one that throws must not wedge the pipeline. */
  function hook(run: () => void): void {
    try {
      run();
    } catch (err) {
      logger.warn({ err }, 'reconciler metrics hook threw');
    }
  }

  function clearDebounce(): void {
    debounceTimer?.unsubscribe();
    debounceTimer = undefined;
  }

  /** Whether `config` is a quick change against what is in flight, else applied. */
  function isQuick(config: RenderedConfig): boolean {
    if (quick === undefined) return false;
    const baseline = inFlight?.config ?? applied;
    if (baseline === undefined) return false;
    try {
      return quick.isQuick(config, baseline.meta);
    } catch (err) {
      logger.warn({ err }, 'quickChange.isQuick threw; treated as a normal change');
      return false;
    }
  }

  /** (Re)starts the pending change's debounce with the wait its kind (quick or not) has now. */
  function armDebounce(): void {
    if (pending === undefined || pending.due) return;
    const wait = isQuick(pending.config) ? quickWait : slowWait;
    const dueAt = Math.min(pending.lastChangeAt + wait.minMs, pending.firstPendingAt + wait.maxMs);
    clearDebounce();
    const delay = Math.max(0, dueAt - now());
    debounceTimer = (delay === 0 ? soon : scheduler).schedule(markDue, delay);
  }

  function dropPending(): void {
    clearDebounce();
    pending = undefined;
  }

  function renderSafely(state: S): RenderedConfig | undefined {
    try {
      return render(state);
    } catch (cause) {
      const error = new RenderFailedError('rendering the state failed; state skipped', { cause });
      logger.error({ code: error.code, err: cause }, error.message);
      hook(() => metrics?.onRenderError?.(error));
      return undefined;
    }
  }

  function consider(state: S, at: number): void {
    const config = renderSafely(state);
    if (config === undefined) return;
    const baseline = inFlight?.config.hash ?? applied?.hash;
    if (config.hash === baseline) {
      // The latest state renders to what is (being) applied: whatever was pending is superseded.
      dropPending();
      failedHash = undefined;
      hook(() => metrics?.onRender(false));
      return;
    }
    if (config.hash === failedHash) {
      // Retried only when the output changes again; the latest state IS the failed output, so an
      // older pending output must not go live either.
      dropPending();
      hook(() => metrics?.onRender(false));
      logger.debug({ hash: config.hash }, 'rendered output failed before; not retried');
      return;
    }
    failedHash = undefined;
    if (pending !== undefined && pending.config.hash === config.hash) {
      // Same bytes as already pending: not a new change, so it neither resets the quiet timer nor
      // counts as changed (a stream of no-op events must not postpone the apply).
      pending.config = config;
      hook(() => metrics?.onRender(false));
      return;
    }
    hook(() => metrics?.onRender(true));
    if (pending === undefined) {
      pending = { config, firstPendingAt: at, lastChangeAt: at, due: false };
    } else {
      pending.config = config;
      pending.lastChangeAt = at;
    }
    armDebounce();
  }

  function markDue(): void {
    if (pending === undefined) return;
    pending.due = true;
    clearDebounce();
    tryStart(false);
  }

  function tryStart(force: boolean): void {
    if (stopped || !gateOpen || inFlight !== undefined || pending === undefined) return;
    if (pending.config.hash === applied?.hash || pending.config.hash === failedHash) {
      // The apply that just ended made this pending output current (or known-bad).
      dropPending();
      return;
    }
    if (!force && !pending.due) return;
    // Spacing protects against piling up reloads; a quick change reloads nothing.
    if (!force && lastApplyEndAt !== undefined && !isQuick(pending.config)) {
      const wait = lastApplyEndAt + minReloadIntervalMs - now();
      if (wait > 0) {
        spacingTimer?.unsubscribe();
        spacingTimer = scheduler.schedule(() => tryStart(false), wait);
        return;
      }
    }
    start(pending);
  }

  function start(next: Pending): void {
    dropPending();
    spacingTimer?.unsubscribe();
    spacingTimer = undefined;
    const { config, firstPendingAt } = next;
    logger.debug({ hash: config.hash }, 'applying rendered config');
    inFlight = { config, done: run(config, firstPendingAt) };
  }

  async function run(config: RenderedConfig, firstPendingAt: number): Promise<void> {
    let result: ApplyResult;
    try {
      result = await applier.apply(config, { changedSince: firstPendingAt });
    } catch (cause) {
      result = {
        ok: false,
        stage: 'unexpected',
        error: new ApplyUnexpectedError('the config applier threw instead of returning a result', { cause }),
      };
    }
    const at = now();
    lastApplyEndAt = at;
    inFlight = undefined;
    const latencyMs = Math.max(0, at - firstPendingAt);
    if (result.ok) {
      failedHash = undefined;
      applied = {
        hash: config.hash,
        at,
        durationMs: result.durationMs,
        ...(result.reloadDurationMs === undefined ? {} : { reloadDurationMs: result.reloadDurationMs }),
        ...(result.reloaded === undefined ? {} : { reloaded: result.reloaded }),
        latencyMs,
        meta: config.meta,
      };
      const change = applied;
      logger.info(
        { hash: change.hash, durationMs: change.durationMs, latencyMs: change.latencyMs },
        'config applied',
      );
      hook(() => metrics?.onApply({ ok: true, ...change }));
      applied$.next(change);
    } else {
      failedHash = config.hash;
      const failure: ApplyFailure = {
        hash: config.hash,
        at,
        stage: result.stage,
        error: result.error,
        ...(result.reloaded === undefined ? {} : { reloaded: result.reloaded }),
        latencyMs,
        meta: config.meta,
      };
      const code = (result.error as { code?: unknown }).code;
      logger.error(
        { code, stage: failure.stage, hash: failure.hash, err: failure.error },
        'config apply failed; previous config keeps serving, retry on the next different render',
      );
      hook(() => metrics?.onApply({ ok: false, ...failure }));
      failures$.next(failure);
    }
    // The baseline moved (to this config, or back to the applied one): a change that was pending
    // during the apply may have become quick or stopped being quick.
    armDebounce();
    tryStart(false);
  }

  /**
   * Renders the latest state in a microtask rather than at every emission: a burst of events
   * dispatched by one piece of code (an SQS receive's ten messages, a snapshot's listing) costs one
   * derivation and render instead of one per event — a full render of a large cluster takes
   * milliseconds, the store takes microseconds per event. And never sooner than
   * RENDER_SPACING_FACTOR × the last render's duration after it ended: in a storm the controller
   * spends at most ~1/(1 + factor) of its time rendering (a 5 ms render of 1,000 services: one
   * every 25 ms at most), while a small cluster's sub-millisecond renders are not held back at all.
   */
  function renderSoon(at: number): void {
    renderFrom ??= at;
    if (renderAction !== undefined) return;
    const wait = lastRenderEndAt + RENDER_SPACING_FACTOR * lastRenderMs - now();
    renderAction = wait > 0 ? scheduler.schedule(renderNow, wait) : soon.schedule(renderNow);
  }

  /** The deferred render, now (a microtask or the spacing timer, or `flush()` wanting it first). */
  function renderNow(): void {
    renderAction?.unsubscribe();
    renderAction = undefined;
    const at = renderFrom;
    renderFrom = undefined;
    if (stopped || !gateOpen || latestState === undefined || at === undefined) return;
    const started = now();
    consider(latestState.value, at);
    lastRenderEndAt = now();
    lastRenderMs = lastRenderEndAt - started;
  }

  function openGate(): void {
    if (gateOpen || stopped) return;
    gateOpen = true;
    const latest = gatedState;
    gatedState = undefined;
    if (latest !== undefined) {
      latestState = latest;
      consider(latest.value, now());
    }
    logger.info({ pending: pending !== undefined }, 'reconciler gate open');
    // The first full sync is done: no reason to wait for quiet before serving it.
    if (pending !== undefined) markDue();
  }

  inputs.add(
    options.state$.subscribe({
      next: (state) => {
        if (stopped) return;
        if (!gateOpen) {
          gatedState = { value: state };
          return;
        }
        latestState = { value: state };
        renderSoon(now());
      },
      error: (err: unknown) => {
        logger.error({ code: 'ECS_INGRESS_STATE_STREAM_FAILED', err }, 'state stream failed');
      },
    }),
  );
  if (options.startWhen !== undefined) {
    inputs.add(
      from(options.startWhen)
        .pipe(take(1))
        .subscribe({
          next: openGate,
          error: (err: unknown) => {
            logger.error(
              { code: 'ECS_INGRESS_RECONCILER_GATE_FAILED', err },
              'start condition failed; nothing will be applied',
            );
          },
        }),
    );
  }

  return {
    applied$: applied$.asObservable(),
    failures$: failures$.asObservable(),
    lastApplied: () => applied,
    async flush() {
      if (renderAction !== undefined) renderNow();
      // Bounded: the apply in flight, a follow-up the schedule may start, then our forced one.
      for (let round = 0; round < 2 && inFlight !== undefined; round += 1) await inFlight.done;
      tryStart(true);
      const current = inFlight as InFlight | undefined;
      if (current !== undefined) await current.done;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      inputs.unsubscribe();
      renderAction?.unsubscribe();
      renderAction = undefined;
      dropPending();
      spacingTimer?.unsubscribe();
      const current = inFlight;
      if (current !== undefined) await current.done;
      applied$.complete();
      failures$.complete();
    },
    retryFailed() {
      if (stopped || failedHash === undefined) return;
      logger.info({ hash: failedHash }, 'retrying the output that failed');
      failedHash = undefined;
      if (gateOpen && latestState !== undefined) consider(latestState.value, now());
    },
    setInitialApplied(hash, meta) {
      applied = { hash, at: now(), durationMs: 0, latencyMs: 0, meta };
      if (pending?.config.hash === hash) dropPending();
      else armDebounce();
    },
  };
}
