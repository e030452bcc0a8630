/**
 * `ecs-ingress run`: the daemon. Start-up, in order (issue 4, DESIGN.md):
 *  1. metrics and the HTTP endpoints (/healthz answers from the first second);
 *  2. AWS clients; the event queue (per-instance: ensure queue + rule, reap stale ones, heartbeat;
 *     shared; none). The queue comes BEFORE the first listing, so no change between the listing and
 *     the queue's creation is lost; events buffer into the store from then on;
 *  3. the source supervisor (first full sync with retries, then resyncs / fallback polling), the
 *     health checker (tasks awaiting health, derived from the state) and the reference watcher
 *     (what routable tasks lack, fetched at once; daemon/sources.ts);
 *  4. upstreams for the bundle test: the last known good file when there is one (NGINX then starts
 *     at once, even while AWS is unreachable), else the render of the first sync's state. In
 *     `dynamic` upstream mode (issue 7) always the first sync's render, as the three files the
 *     bundle includes (preamble, http upstreams, stream upstreams): the runtime starts no last good
 *     config in that mode, since endpoints live in NGINX's shared memory, not in a file;
 *  5. the bundle: `resolveStartupBundle` — none valid and no last known good → fatal, exit ≠ 0;
 *  6. the runtime (NGINX with the real upstreams) through the ApplyGate; readiness once NGINX
 *     serves the config rendered from the first sync's state (readiness.ts); from the last known
 *     good file meanwhile: phase `serving-last-known-good`;
 *  7. bundle watching: new bundles through the same single-flight path as upstream changes.
 * Shutdown (SIGTERM/SIGINT): bundle watch, sources, queue (+ teardown of per-instance resources),
 * runtime (apply in flight finishes, NGINX quits gracefully), HTTP, clients.
 *
 * An AWS error never ends the daemon: every source retries with backoff and the last good config
 * keeps serving. Only a missing valid config (no bundle, NGINX cannot start) is fatal.
 */
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { AwsClients, SqsSourceHooks } from '@ecs-ingress/sources';
import { SourceSupervisor } from '@ecs-ingress/sources';
import { ClusterStore, createUpstreamDeriver } from '@ecs-ingress/store';
import type { Logger } from '@ecs-ingress/types';
import type { Subscription } from 'rxjs';
import { BundleManager } from '../bundle/bundle-manager.js';
import { createNginxTester } from '../bundle/nginx-tester.js';
import type { BundleSource } from '../bundle/sources.js';
import { resolveStartupBundle } from '../bundle/startup.js';
import type { DaemonConfig } from '../config/env.js';
import { createFleetMetrics, fleetMetricsHooks } from '../http/fleet-metrics.js';
import { createMetrics, type Metrics } from '../http/metrics.js';
import {
  reconcilerMetrics,
  recordNginxReload,
  recordStartedConfig,
  recordStoreOutcome,
  syncMetrics,
} from '../http/metrics-hooks.js';
import { createRouteMetrics } from '../http/route-metrics.js';
import type { HttpServer } from '../http/server.js';
import { sourceMetrics } from '../http/source-metrics.js';
import { routesDebugView } from '../routes/routes-renderer.js';
import { type Runtime, startRuntime } from '../runtime/runtime.js';
import { runShutdownSteps, type ShutdownStep } from '../runtime/shutdown.js';
import { ApplyGate } from './apply-gate.js';
import { createDaemonClients } from './aws.js';
import { bundleSourceFor, retryUnlessRefused, watchBundles } from './bundle-watch.js';
import type { EventQueue } from './event-queue.js';
import { startDaemonEndpoints } from './http-endpoints.js';
import { untilServing } from './readiness.js';
import { createDaemonSources, daemonInstanceId } from './sources.js';
import { checkStartupPaths, explainStartupRejection } from './startup-checks.js';
import {
  createDaemonRoutes,
  dynamicRuntimeOptions,
  ownFiles,
  renderStartupFiles,
  restoreLastKnownGood,
  writeFiles,
} from './startup-files.js';
import { type DaemonProgress, daemonStatus, syncErrorCode } from './status.js';

export interface DaemonDeps {
  readonly logger: Logger;
  /** Default: built from the configuration (region, endpoint overrides, default credentials). */
  readonly clients?: AwsClients;
  readonly metrics?: Metrics;
  /** SQS long-poll wait (tests shorten it). Default 20 s. */
  readonly sqsWaitTimeSeconds?: number;
  /** Timing hooks of the SQS source (the latency benchmark). */
  readonly sqsHooks?: SqsSourceHooks;
}

export interface Daemon {
  /** /metrics, /healthz, /readyz (and /debug/* when ECS_INGRESS_DEBUG_LISTEN is the same address). */
  readonly http: HttpServer;
  /** /debug/state, /debug/upstreams on their own (loopback) listener; undefined when off or shared. */
  readonly debugHttp: HttpServer | undefined;
  readonly store: ClusterStore;
  readonly metrics: Metrics;
  readonly progress: Readonly<DaemonProgress>;
  /**
   * Resolves once ready (first sync + config applied); rejects when start-up failed for good (no
   * valid bundle, NGINX cannot start) — the caller then runs `stop()` and exits non-zero.
   */
  readonly ready: Promise<void>;
  /** The runtime once NGINX was started. */
  runtime(): Runtime | undefined;
  /** The queue the daemon consumes, once set up. */
  queueUrl(): string | undefined;
  /** The shutdown steps, in order (the CLI installs them as signal handlers). */
  readonly shutdownSteps: readonly ShutdownStep[];
  /** Runs the shutdown steps; resolves with the exit code (0 when every step finished). */
  stop(timeoutMs?: number): Promise<number>;
}

export async function startDaemon(config: DaemonConfig, deps: DaemonDeps): Promise<Daemon> {
  const logger = deps.logger;
  const metrics = deps.metrics ?? createMetrics({ defaults: true });
  const cluster = config.clusterName;
  const progress: DaemonProgress = { phase: 'starting' };
  let stopping = false;

  const store = new ClusterStore({
    tombstoneTtlMs: config.tombstoneTtlMs,
    onOutcome: (outcome) => recordStoreOutcome(metrics, outcome),
  });
  // One memoised deriver for every reader of the store: each state costs what changed in it.
  const derive = createUpstreamDeriver({ clusterArn: cluster });

  const dynamicMode = config.upstreamMode === 'dynamic';
  // In dynamic mode the runtime owns the http upstreams file; the others go through `dynamic`.
  const httpUpstreamsFile = dynamicMode ? config.dynamic.httpUpstreamsFile : config.upstreamsFile;
  const dynamicOptions = dynamicRuntimeOptions(config, metrics);
  // Routes from labels (issue 16): rendered with the upstreams, applied in the same apply.
  const routes = createDaemonRoutes(config, createRouteMetrics(metrics.registry), logger);

  // Wrong paths fail here, each naming its variable, before anything starts (exit 2).
  await checkStartupPaths(config);
  const fleetHooks = fleetMetricsHooks(createFleetMetrics(metrics.registry));
  let fleetStatus: () => unknown = () => undefined;
  const status = daemonStatus({
    progress,
    state: () => store.snapshot(),
    cluster,
    upstreamsFile: httpUpstreamsFile,
    ...(dynamicMode ? { dynamicFiles: [config.dynamic.streamUpstreamsFile] } : {}),
  });
  const endpoints = await startDaemonEndpoints(config, {
    metrics,
    logger,
    status: {
      ...status,
      ...(config.sharedS3 ? { debugFleet: () => fleetStatus() } : {}),
      debugRoutes: () => routesDebugView(runtime?.liveRoutes(), routes.latest()),
    },
  });
  const http = endpoints.main;

  logger.info(
    {
      url: http.url,
      ...(endpoints.debug === undefined ? {} : { debugUrl: endpoints.debug.url }),
      cluster,
      queueMode: config.queue.mode,
      upstreamMode: config.upstreamMode,
      files: ownFiles(config),
      ...(dynamicMode ? { controlListen: config.dynamic.controlListen } : {}),
    },
    'ecs-ingress starting',
  );

  const clients =
    deps.clients ??
    createDaemonClients({ region: config.region, endpoints: config.endpoints, logger, metrics });

  const { syncs, health, references, createQueue, fleet } = createDaemonSources({
    config,
    clients,
    store,
    derive,
    logger,
    metrics,
    fleetHooks,
    ...(deps.sqsHooks ? { sqsHooks: deps.sqsHooks } : {}),
    ...(deps.sqsWaitTimeSeconds === undefined ? {} : { sqsWaitTimeSeconds: deps.sqsWaitTimeSeconds }),
    onSync: (outcome) => {
      progress.lastSyncError = outcome.ok ? undefined : syncErrorCode(outcome.error);
    },
  });
  let queue: EventQueue | undefined;
  progress.queueUrl = () => queue?.queueUrl;
  let supervisor: SourceSupervisor | undefined;
  const gate = new ApplyGate(store.state$);
  let runtime: Runtime | undefined;
  let bundleSource: BundleSource | undefined;
  let bundleWatch: Subscription | undefined;

  async function start(): Promise<void> {
    await mkdir(config.workDir, { recursive: true });
    for (const dir of new Set(ownFiles(config).map((file) => dirname(file))))
      await mkdir(dir, { recursive: true });
    const instanceId = await daemonInstanceId(config, logger);
    if (stopping) return;
    const q = createQueue(instanceId);
    queue = q;
    await q.start();
    if (stopping) return;
    if (fleet) {
      fleet.start(instanceId);
      fleetStatus = () => fleet.status();
    }
    supervisor = new SourceSupervisor({
      poller: syncs,
      queueHealthy$: q.healthy$,
      resyncIntervalMs: config.resyncIntervalMs,
      pollIntervalMs: config.pollIntervalMs,
      graceMs: config.queue.graceMs,
      logger,
      metrics: sourceMetrics(metrics),
      onSync: syncMetrics(metrics),
      hooks: fleetHooks,
    });
    const sup = supervisor;
    progress.sourceMode = () => sup.currentMode;
    progress.awsProblem = () => sup.currentProblem;
    supervisor.start();
    health.start();
    references.start();
    const firstSync = supervisor.firstSync.then(() => {
      progress.firstSyncAt = Date.now();
    });

    // Upstreams for the bundle's `nginx -t`: the last known good file, or the first sync's render.
    if (!(await restoreLastKnownGood(config, routes, logger))) {
      progress.phase = 'waiting-for-first-sync';
      await firstSync;
      if (stopping) return;
      await writeFiles(renderStartupFiles(config, derive(store.snapshot()), routes));
    }
    if (stopping) return;

    progress.phase = 'resolving-bundle';
    const manager = new BundleManager({
      workDir: config.workDir,
      mainFileName: config.bundle.mainFileName,
      upstreamsFile: httpUpstreamsFile,
      tester: createNginxTester({ prefix: config.workDir, nginxBinary: config.nginxBinary, logger }),
      logger,
      metrics: { bundleApplies: metrics.bundleApplies, configTestFailures: metrics.configTestFailures },
    });
    const source = bundleSourceFor(config, clients.s3, logger, metrics);
    bundleSource = source;
    const startup = await resolveStartupBundle({
      manager,
      fetch: () => source.check(),
      logger,
      explain: (rejection) => explainStartupRejection(config, rejection),
    });
    if (stopping) return;
    // Started from the last known good because the new bundle could not be read (not refused):
    // the watch must retry it rather than take it as seen.
    const unread = startup.rejected?.bundleId;
    if (unread !== undefined) retryUnlessRefused(unread, { source, manager }, logger);
    const activated = await manager.activate(startup.bundle);
    progress.bundleId = startup.bundle.id;

    progress.phase = 'starting-nginx';
    const rt = startRuntime({
      nginx: { configFile: manager.configFile, prefix: config.workDir, binary: config.nginxBinary },
      upstreamsFile: httpUpstreamsFile,
      ...(dynamicMode ? { upstreamMode: 'dynamic' as const, dynamic: dynamicOptions } : {}),
      store: { state$: gate.state$ },
      derive,
      routes,
      debounce: config.debounce,
      minReloadIntervalMs: config.minReloadIntervalMs,
      startWhen: supervisor.firstSync,
      logger,
      reconcilerMetrics: reconcilerMetrics(metrics),
      metrics,
      onStarted: (info) => recordStartedConfig(metrics, info),
      onApplied: (change) => {
        const meta = change.meta as { unresolved?: readonly string[] } | undefined;
        metrics.tasksUnresolved.set(meta?.unresolved?.length ?? 0);
        if (change.lines.length > 0)
          logger.info({ hash: change.hash, changes: change.lines }, 'upstreams applied');
      },
    });
    runtime = rt;
    progress.runner = rt.runner;
    progress.pushedEndpoints = () => rt.pushedEndpoints();
    try {
      await rt.ready;
    } catch (err) {
      await activated.revert(err as Error);
      throw err;
    }
    await activated.confirm();
    if (stopping) return;

    // Started from the last known good file: it serves, but it is not what ECS says yet.
    if (progress.firstSyncAt === undefined) progress.phase = 'serving-last-known-good';
    await firstSync;
    if (stopping) return;
    progress.phase = 'applying-first-sync';
    // Ready once NGINX serves the render of a state holding that sync (readiness.ts), not before.
    const serving = await untilServing(
      rt,
      () => store.snapshot(),
      () => stopping,
    );
    if (!serving) return;
    progress.configAppliedAt = Date.now();
    progress.phase = 'running';
    logger.info({ bundleId: startup.bundle.id, queueUrl: q.queueUrl, instanceId }, 'ecs-ingress ready');

    bundleWatch = watchBundles({
      source,
      manager,
      gate: gate as ApplyGate<unknown>,
      drain: () => rt.flush(),
      runner: rt.runner,
      logger,
      onReload: (r) => recordNginxReload(metrics, r),
      onResult: (r) => {
        if (!r.ok) return;
        progress.bundleId = r.bundleId;
        // Another bundle may have other server names: what they shadow is found anew.
        rt.bundleChanged();
      },
    });
  }

  const ready = start();
  // The caller awaits it; a rejection must not also surface as unhandled.
  ready.catch(() => undefined);

  const shutdownSteps: ShutdownStep[] = [
    {
      name: 'bundle-watch',
      run: async () => {
        stopping = true;
        progress.phase = 'stopping';
        bundleWatch?.unsubscribe();
        bundleSource?.stop();
      },
    },
    {
      name: 'sources',
      run: async () => {
        await fleet?.stop();
        await supervisor?.stop();
        await health.stop();
        await references.stop();
      },
    },
    {
      name: 'queue',
      run: async () => {
        const removed = (await queue?.stop()) ?? [];
        if (removed.length > 0)
          logger.info(
            { removed: removed.map((a) => `${a.action} ${a.kind} ${a.name}`) },
            'event queue removed',
          );
      },
    },
    {
      name: 'runtime',
      run: async () => {
        await ready.catch(() => undefined);
        await runtime?.stop();
        gate.complete();
      },
    },
    { name: 'http', run: () => endpoints.close() },
    {
      name: 'aws-clients',
      run: async () => {
        if (deps.clients === undefined) clients.destroy();
      },
    },
  ];

  let stopped: Promise<number> | undefined;
  return {
    http,
    debugHttp: endpoints.debug,
    store,
    metrics,
    progress,
    ready,
    runtime: () => runtime,
    queueUrl: () => queue?.queueUrl,
    shutdownSteps,
    stop(timeoutMs = 25_000) {
      stopped ??= runShutdownSteps(shutdownSteps, logger.child({ component: 'shutdown' }), timeoutMs);
      return stopped;
    },
  };
}
