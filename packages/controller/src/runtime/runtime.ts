/**
 * The controller runtime: store → derivation → renderer → reconciler → nginx-runner.
 *
 * Start-up (DESIGN.md "Before the first full sync completes, NGINX is not (re)started with an
 * empty upstream set"):
 * - a last known good upstreams file (`<file>.last-good`, written by every successful apply) is
 *   put back in place and NGINX starts with it at once, so a restarted daemon serves what it served
 *   before; the reconciler is told that config is applied (`setInitialApplied`) and waits for
 *   `startWhen` before changing it;
 * - without one, nothing starts until `startWhen`; then the current state is rendered, written,
 *   checked with `nginx -t`, and NGINX starts on it (an `upstream` block must exist for every
 *   `proxy_pass` of the user's config, which an empty render cannot promise).
 * After that every change goes through the reconciler: render, compare with the applied hash,
 * debounce, one apply in flight (write, test, reload, confirm, commit; rollback on failure).
 */
import { resolve } from 'node:path';
import type { NginxRunnerOptions } from '@ecs-ingress/nginx-runner';
import { NginxRunner } from '@ecs-ingress/nginx-runner';
import type { UpstreamDiff } from '@ecs-ingress/renderer';
import { describeUpstreamDiff, diffUpstreams } from '@ecs-ingress/renderer';
import type { ClusterState } from '@ecs-ingress/store';
import type { Logger, Upstream } from '@ecs-ingress/types';
import { silentLogger } from '@ecs-ingress/types';
import {
  firstValueFrom,
  from,
  type Observable,
  type ObservableInput,
  Subject,
  type Subscription,
} from 'rxjs';
import type { PushedEndpoints } from '../dynamic/dynamic-applier.js';
import type { RuntimeDynamicOptions, UpstreamMode } from '../dynamic/runtime-dynamic.js';
import type { Metrics } from '../http/metrics.js';
import { createConfigApplier } from '../reconciler/apply-config.js';
import { ConfigTestFailedError } from '../reconciler/errors.js';
import type { AppliedChange, ApplyFailure, Reconciler, ReconcilerMetrics } from '../reconciler/pipeline.js';
import { createReconciler } from '../reconciler/pipeline.js';
import { createRuntimeRender, metaOf } from './runtime-render.js';
import { parseRenderedUpstreams } from './upstreams-text.js';

/** What the runtime needs of a derivation: the upstreams (the rest is passed through as `meta`). */
export interface RuntimeDerivation {
  readonly upstreams: readonly Upstream[];
  /** Task ARNs RUNNING but not yet HEALTHY (diagnostics). */
  readonly awaitingHealth?: readonly string[];
  /** Task ARNs that should route but whose address or port is unknown (diagnostics). */
  readonly unresolved?: readonly string[];
}

/** `RenderedConfig.meta` of every config the runtime renders. */
export interface RuntimeRenderMeta {
  readonly upstreams: readonly Upstream[];
  readonly serverCount: number;
  readonly awaitingHealth: readonly string[];
  readonly unresolved: readonly string[];
}

/** An applied change, with what it changed compared with the previously applied upstreams. */
export interface RuntimeAppliedChange extends AppliedChange {
  readonly upstreams: readonly Upstream[];
  readonly diff: UpstreamDiff;
  /** `describeUpstreamDiff(diff)`: `+ upstream web`, `web + 10.0.0.5:8080`, … */
  readonly lines: readonly string[];
}

/** How NGINX was started. */
export interface RuntimeStartInfo {
  /** `last-good`: from the last known good upstreams file; `first-render`: from the state at `startWhen`. */
  readonly from: 'last-good' | 'first-render';
  readonly hash: string;
  readonly upstreams: readonly Upstream[];
  readonly pid: number;
}

export interface RuntimeNginxOptions {
  /** NGINX's `-c`: the user's main config, which includes the upstreams file in `http` and/or `stream`. */
  readonly configFile: string;
  /** NGINX's `-p`. */
  readonly prefix: string;
  /** Default `/usr/sbin/nginx`. */
  readonly binary?: string;
  /** Passed to the runner as is (timeouts, restart backoff). */
  readonly runner?: Omit<
    NginxRunnerOptions,
    'prefix' | 'configFile' | 'nginxBinary' | 'logger' | 'managedFiles'
  >;
}

export interface RuntimeOptions<S = ClusterState> {
  readonly nginx: RuntimeNginxOptions;
  /** The upstreams file NGINX includes (relative paths resolve against the working directory). */
  readonly upstreamsFile: string;
  /** The store; only its current-state stream is read (a BehaviorSubject replays the current state). */
  readonly store: { readonly state$: Observable<S> };
  /**
   * Pure: the upstreams of a state. Default a memoised `createUpstreamDeriver({ clusterArn })`, which needs
   * `S` to be the store's `ClusterState`; a store of another shape must pass its own.
   */
  readonly derive?: (state: S) => RuntimeDerivation;
  /** Only this cluster's tasks (ARN or name), for the default `derive`. Default: every cluster. */
  readonly clusterArn?: string;
  /** Defaults: minMs 200, maxMs 2000. */
  readonly debounce?: { readonly minMs?: number; readonly maxMs?: number };
  /** Default 1000. */
  readonly minReloadIntervalMs?: number;
  /** The first full sync; nothing is rendered before it emits or resolves. Default: at once. */
  readonly startWhen?: ObservableInput<unknown>;
  readonly logger?: Logger;
  /** Prometheus hooks for the reconciler (`reconcilerMetrics(createMetrics())`). */
  readonly reconcilerMetrics?: ReconcilerMetrics;
  /** When given, `nginx_workers` and `nginx_restarts_total` are kept up to date. */
  readonly metrics?: Pick<Metrics, 'nginxWorkers' | 'nginxRestarts'>;
  readonly onStarted?: (info: RuntimeStartInfo) => void;
  readonly onApplied?: (change: RuntimeAppliedChange) => void;
  readonly onFailed?: (failure: ApplyFailure) => void;
  /**
   * `ECS_INGRESS_UPSTREAM_MODE`. Default `reload`. `dynamic` (issue 7) needs `dynamic`: the
   * upstreams file then holds Lua-balanced blocks, endpoint-only changes are pushed to NGINX's
   * control endpoint without a reload, `ready` waits for the first full push, and NGINX always
   * starts from the first render (no last-known-good start in this mode).
   */
  readonly upstreamMode?: UpstreamMode;
  readonly dynamic?: RuntimeDynamicOptions;
}

export interface Runtime<S = ClusterState> {
  /** Every config that went live after the start (hot; completes on `stop()`). */
  readonly applied$: Observable<RuntimeAppliedChange>;
  /** Every apply that failed; the previous config keeps serving (hot; completes on `stop()`). */
  readonly failures$: Observable<ApplyFailure>;
  /**
   * Resolves once NGINX serves (started from the last known good file, or from the first render
   * after `startWhen`); rejects when it could not start (the caller then calls `stop()`).
   * Resolves without starting anything when `stop()` came first.
   */
  readonly ready: Promise<void>;
  /**
   * Resolves once the reconciler takes changes (the start condition fired and NGINX serves), or on
   * `stop()`. From the last known good file, NGINX serves (`ready`) before the start condition
   * reaches the reconciler, so a caller that opens the start condition itself and then `flush()`es
   * must await this first, or the flush finds the gate still closed and applies nothing.
   */
  readonly reconciling: Promise<void>;
  /** Applies what is pending now, skipping the debounce; call after `ready`. Never rejects. */
  flush(): Promise<void>;
  /** True when the config NGINX serves (last applied) is the one `state` renders to. */
  serves(state: S): boolean;
  /** Cancels pending work, waits for the apply in flight, then stops NGINX gracefully. Idempotent. */
  stop(): Promise<void>;
  /** The upstreams NGINX serves now (as last applied). */
  liveUpstreams(): readonly Upstream[];
  /** Dynamic mode: the endpoint sets NGINX confirmed holding (`undefined` in reload mode). */
  pushedEndpoints(): readonly PushedEndpoints[] | undefined;
  readonly runner: NginxRunner;
  readonly reconciler: Reconciler;
}

/** Wires the pipeline and starts NGINX (see the file comment). Returns at once; await `ready`. */
export function startRuntime<S = ClusterState>(options: RuntimeOptions<S>): Runtime<S> {
  const logger = (options.logger ?? silentLogger).child({ component: 'runtime' });
  const upstreamsPath = resolve(options.upstreamsFile);
  const runner = new NginxRunner({
    ...options.nginx.runner,
    prefix: options.nginx.prefix,
    configFile: options.nginx.configFile,
    ...(options.nginx.binary === undefined ? {} : { nginxBinary: options.nginx.binary }),
    ...(options.logger === undefined ? {} : { logger: options.logger }),
  });

  const { render, dynamicParts } = createRuntimeRender(options, upstreamsPath, runner, logger);

  let gateOpen!: () => void;
  const gate = new Promise<void>((res) => {
    gateOpen = res;
  });
  let stopRequested = false;
  let stopSignal!: () => void;
  const stopped = new Promise<'stopped'>((res) => {
    stopSignal = () => res('stopped');
  });

  const reconciler = createReconciler({
    state$: options.store.state$,
    render,
    applier:
      dynamicParts?.applier ??
      createConfigApplier({ target: runner, logger: options.logger ?? silentLogger }),
    startWhen: gate,
    ...(options.debounce === undefined ? {} : { debounce: options.debounce }),
    ...(dynamicParts !== undefined
      ? {
          minReloadIntervalMs: dynamicParts.reconcilerMinReloadIntervalMs,
          quickChange: dynamicParts.quickChange,
        }
      : options.minReloadIntervalMs === undefined
        ? {}
        : { minReloadIntervalMs: options.minReloadIntervalMs }),
    ...(options.logger === undefined ? {} : { logger: options.logger }),
    ...(options.reconcilerMetrics === undefined ? {} : { metrics: options.reconcilerMetrics }),
  });

  // The reconciler subscribed to `gate` above, so this reaction runs after its gate opened.
  const reconciling = Promise.race([gate, stopped]).then(() => undefined);

  let live: readonly Upstream[] = [];
  const applied$ = new Subject<RuntimeAppliedChange>();
  const subscriptions: Subscription[] = [];
  subscriptions.push(
    reconciler.applied$.subscribe((change) => {
      const upstreams = metaOf(change)?.upstreams ?? live;
      const diff = diffUpstreams(live, upstreams);
      live = upstreams;
      const enriched: RuntimeAppliedChange = {
        ...change,
        upstreams,
        diff,
        lines: describeUpstreamDiff(diff),
      };
      options.onApplied?.(enriched);
      applied$.next(enriched);
      void updateWorkerGauge();
    }),
    reconciler.failures$.subscribe((failure) => options.onFailed?.(failure)),
  );

  // Kept so the first render uses the newest state without depending on how `state$` replays.
  let latest: { value: S } | undefined;
  subscriptions.push(
    options.store.state$.subscribe((value) => {
      latest = { value };
    }),
  );

  async function updateWorkerGauge(): Promise<void> {
    if (options.metrics === undefined) return;
    try {
      options.metrics.nginxWorkers.set(await runner.workerCount());
    } catch {
      // /proc raced with a worker exiting; the next event updates the gauge.
    }
  }
  const unlisten = runner.onEvent((event) => {
    if (event.type === 'restarted') {
      options.metrics?.nginxRestarts.inc();
      logger.warn({ pid: event.pid, restarts: event.restarts }, 'nginx restarted after an unexpected exit');
      // An apply that failed because NGINX was down rolled back to the last good files, which the
      // restarted NGINX now serves; without this the current state waits for the next change.
      reconciler.retryFailed();
    }
    if (event.type === 'started' || event.type === 'restarted' || event.type === 'reloaded') {
      void updateWorkerGauge();
    }
  });

  /** Resolves with the gate value, or 'stopped' when stop() came first. */
  async function untilStartWhen(): Promise<'open' | 'stopped'> {
    if (options.startWhen === undefined) return 'open';
    const opened = firstValueFrom(from(options.startWhen)).then(() => 'open' as const);
    return Promise.race([opened, stopped]);
  }

  async function currentState(): Promise<S | 'stopped'> {
    if (latest !== undefined) return latest.value;
    return Promise.race([firstValueFrom(options.store.state$), stopped]);
  }

  async function startNginx(from: RuntimeStartInfo['from'], hash: string, upstreams: readonly Upstream[]) {
    const { pid } = await runner.start();
    live = upstreams;
    const info: RuntimeStartInfo = { from, hash, upstreams, pid };
    logger.info({ from, hash, pid, upstreams: upstreams.length }, 'nginx serving');
    options.onStarted?.(info);
  }

  /**
   * Starts NGINX on the last known good upstreams file. False when that start failed (the user's
   * nginx.conf may have changed since, or the file no longer fits it): the caller then waits for
   * the first full sync and starts from a fresh render instead of giving up.
   */
  async function startFromLastGood(previous: { hash: string; upstreams: readonly Upstream[] }) {
    try {
      // A crash may have left a half-applied file in place: the last good copy goes back first.
      await runner.restoreLastGood(upstreamsPath);
      if (stopRequested) return true;
      await startNginx('last-good', previous.hash, previous.upstreams);
      return true;
    } catch (err) {
      logger.error(
        { code: 'ECS_INGRESS_LAST_GOOD_START_FAILED', err },
        'nginx did not start from the last known good upstreams; waiting for the first sync to render anew',
      );
      return false;
    }
  }

  async function boot(): Promise<void> {
    const lastGood = dynamicParts !== undefined ? undefined : await NginxRunner.lastKnownGood(upstreamsPath);
    const previous = lastGood === undefined ? undefined : parseRenderedUpstreams(lastGood);
    if (lastGood !== undefined && previous === undefined) {
      logger.warn({ path: upstreamsPath }, 'last known good upstreams file is not ours; ignored');
    }
    if (previous !== undefined && (await startFromLastGood(previous))) {
      if (stopRequested) return;
      reconciler.setInitialApplied(previous.hash, {
        upstreams: previous.upstreams,
        serverCount: previous.upstreams.reduce((n, u) => n + u.servers.length, 0),
        awaitingHealth: [],
        unresolved: [],
      } satisfies RuntimeRenderMeta);
      // NGINX serves now; the reconciler starts changing it after the first full sync.
      void untilStartWhen().then(
        (result) => {
          if (result === 'open') gateOpen();
        },
        (err: unknown) =>
          logger.error({ code: 'ECS_INGRESS_START_CONDITION_FAILED', err }, 'start condition failed'),
      );
      return;
    }
    if ((await untilStartWhen()) === 'stopped') return;
    const state = await currentState();
    if (state === 'stopped' || stopRequested) return;
    const config = render(state as S);
    await runner.writeFiles(config.files);
    const test = await runner.test();
    if (!test.ok) {
      await runner.rollback();
      throw new ConfigTestFailedError(test.errors, test.output);
    }
    if (stopRequested) return;
    // Dynamic: the runner's `started` event pushes these endpoints; serve only once they are in.
    dynamicParts?.applier.setInitial(config);
    await startNginx('first-render', config.hash, metaOf(config)?.upstreams ?? []);
    // Raced with stop(): a push that never succeeds must not keep stop() waiting on `ready`.
    if (dynamicParts !== undefined) await Promise.race([dynamicParts.applier.whenReady(), stopped]);
    await runner.commit();
    reconciler.setInitialApplied(config.hash, config.meta);
    gateOpen();
  }

  const ready = boot();
  // stop() awaits it; a caller that never awaits `ready` must not crash the process with it.
  ready.catch(() => undefined);

  let stopping: Promise<void> | undefined;
  async function stop(): Promise<void> {
    stopRequested = true;
    stopSignal();
    await ready.catch(() => undefined);
    await reconciler.stop();
    await runner.stop();
    dynamicParts?.close();
    unlisten();
    for (const subscription of subscriptions) subscription.unsubscribe();
    applied$.complete();
    logger.info('runtime stopped');
  }

  return {
    applied$: applied$.asObservable(),
    failures$: reconciler.failures$,
    ready,
    reconciling,
    flush: () => reconciler.flush(),
    serves: (state) => reconciler.lastApplied()?.hash === render(state).hash,
    stop() {
      stopping ??= stop();
      return stopping;
    },
    liveUpstreams: () => live,
    pushedEndpoints: () => dynamicParts?.applier.pushedEndpoints(),
    runner,
    reconciler,
  };
}
