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
import { NginxRunner } from '@ecs-ingress/nginx-runner';
import { describeUpstreamDiff, diffUpstreams } from '@ecs-ingress/renderer';
import type { ClusterState } from '@ecs-ingress/store';
import { createUpstreamDeriver, type UpstreamDeriver } from '@ecs-ingress/store';
import type { Upstream } from '@ecs-ingress/types';
import { ConfigError, silentLogger } from '@ecs-ingress/types';
import { filter, firstValueFrom, from, map, merge, Subject, type Subscription } from 'rxjs';
import { createDynamicRuntimeParts } from '../dynamic/runtime-dynamic.js';
import { createConfigApplier } from '../reconciler/apply-config.js';
import { ConfigTestFailedError } from '../reconciler/errors.js';
import { createReconciler } from '../reconciler/pipeline.js';
import type { RoutesRender } from '../routes/routes-renderer.js';
import {
  combineConfigHash,
  createStateRender,
  type RuntimeRenderMeta,
  runtimeMetaOf,
} from './render-config.js';
import { observedTarget, restoreLastGoodRoutes } from './routes-runtime.js';
import type { Runtime, RuntimeAppliedChange, RuntimeOptions, RuntimeStartInfo } from './runtime-types.js';
import { parseRenderedUpstreams } from './upstreams-text.js';

export type { RuntimeDerivation, RuntimeRenderMeta } from './render-config.js';
export type {
  Runtime,
  RuntimeAppliedChange,
  RuntimeNginxOptions,
  RuntimeOptions,
  RuntimeStartInfo,
} from './runtime-types.js';

const metaOf = runtimeMetaOf;

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

  const routes = options.routes;
  /** Re-renders the latest state: shadowed hosts found, routes refused, or the bundle changed. */
  const refresh$ = new Subject<void>();
  // With routes, every `nginx -t` of an apply is read for the bundle's server names.
  const target =
    routes === undefined
      ? runner
      : observedTarget(runner, (output) => {
          if (routes.observeTestOutput(output)) refresh$.next();
        });
  const deriveOptions = options.clusterArn === undefined ? {} : { clusterArn: options.clusterArn };
  const deriver = options.derive === undefined ? createUpstreamDeriver(deriveOptions) : undefined;
  const derive =
    options.derive ?? ((state: S) => (deriver as UpstreamDeriver)(state as unknown as ClusterState));
  if (options.upstreamMode === 'dynamic' && options.dynamic === undefined) {
    throw new ConfigError('ECS_INGRESS_UPSTREAM_MODE', 'dynamic mode needs the dynamic options');
  }
  const dynamicParts =
    options.upstreamMode === 'dynamic' && options.dynamic !== undefined
      ? createDynamicRuntimeParts({
          dynamic: options.dynamic,
          httpUpstreamsFile: upstreamsPath,
          target,
          ...(options.minReloadIntervalMs === undefined
            ? {}
            : { minReloadIntervalMs: options.minReloadIntervalMs }),
          ...(options.logger === undefined ? {} : { logger: options.logger }),
        })
      : undefined;
  const render = createStateRender<S>({
    derive,
    upstreamsPath,
    ...(dynamicParts === undefined ? {} : { dynamic: dynamicParts }),
    ...(routes === undefined ? {} : { routes }),
    logger,
  });

  let gateOpen!: () => void;
  const gate = new Promise<void>((res) => {
    gateOpen = res;
  });
  let stopRequested = false;
  let stopSignal!: () => void;
  const stopped = new Promise<'stopped'>((res) => {
    stopSignal = () => res('stopped');
  });

  // Kept so the first render uses the newest state without depending on how `state$` replays.
  let latest: { value: S } | undefined;
  const reconciler = createReconciler({
    state$: merge(
      options.store.state$,
      refresh$.pipe(
        filter(() => latest !== undefined),
        map(() => (latest as { value: S }).value),
      ),
    ),
    render,
    applier: dynamicParts?.applier ?? createConfigApplier({ target, logger: options.logger ?? silentLogger }),
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
  let liveRoutes: RoutesRender | undefined;
  const applied$ = new Subject<RuntimeAppliedChange>();
  const subscriptions: Subscription[] = [];
  subscriptions.push(
    reconciler.applied$.subscribe((change) => {
      const upstreams = metaOf(change)?.upstreams ?? live;
      const appliedRoutes = metaOf(change)?.routes;
      if (appliedRoutes !== undefined) {
        liveRoutes = appliedRoutes;
        routes?.applied(appliedRoutes);
      }
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
    reconciler.failures$.subscribe((failure) => {
      // Routes that fail `nginx -t` are held back, so the upstreams keep flowing (routes-renderer.ts).
      const failedRoutes = metaOf(failure)?.routes;
      if (
        failure.stage === 'test' &&
        failedRoutes !== undefined &&
        routes?.refuse(failedRoutes, failure.error.message)
      ) {
        reconciler.retryFailed();
      }
      options.onFailed?.(failure);
    }),
  );

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
    const previousRoutes =
      previous === undefined || routes === undefined
        ? undefined
        : await restoreLastGoodRoutes(runner, routes);
    if (previousRoutes !== undefined) {
      liveRoutes = previousRoutes;
      routes?.applied(previousRoutes);
    }
    if (previous !== undefined && (await startFromLastGood(previous))) {
      if (stopRequested) return;
      // What the bundle shadows is only in `nginx -t`'s output: read it once for the files now live.
      if (routes !== undefined) await target.test().catch(() => undefined);
      // With routes on, the config is both files; without their last good copies it is not ours.
      const startedHash =
        routes === undefined
          ? previous.hash
          : combineConfigHash(previous.hash, previousRoutes?.hash ?? 'none');
      reconciler.setInitialApplied(startedHash, {
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
    const test = await target.test();
    if (!test.ok) {
      await runner.rollback();
      throw new ConfigTestFailedError(test.errors, test.output);
    }
    if (stopRequested) return;
    // Dynamic: the runner's `started` event pushes these endpoints; serve only once they are in.
    dynamicParts?.applier.setInitial(config);
    await startNginx('first-render', config.hash, metaOf(config)?.upstreams ?? []);
    const firstRoutes = metaOf(config)?.routes;
    if (firstRoutes !== undefined) {
      liveRoutes = firstRoutes;
      routes?.applied(firstRoutes);
    }
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
    liveRoutes: () => liveRoutes,
    bundleChanged() {
      routes?.resetShadows();
      refresh$.next();
    },
    runner,
    reconciler,
  };
}
