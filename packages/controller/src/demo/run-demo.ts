/**
 * `ecs-ingress demo`: the whole controller on one machine with nothing from AWS. Backends on
 * 127.0.0.x stand in for tasks, a generated nginx.conf stands in for the user's bundle, and the
 * bundled scenario is replayed in real time through the same path as `ecs-ingress replay --nginx`:
 * recording reader → store → derivation → renderer → reconciler → NGINX.
 *
 * Upstream mode: `dynamic` when NGINX's Lua modules are installed (endpoint changes pushed to the
 * Lua balancer, no reload), else `reload`; `mode` forces one. The output says which runs and why.
 */
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { checkControlListen } from '@ecs-ingress/renderer';
import { paceRecording, readRecording } from '@ecs-ingress/sources';
import { ClusterStore, deriveUpstreams } from '@ecs-ingress/store';
import type { ClusterEvent, Logger } from '@ecs-ingress/types';
import { silentLogger } from '@ecs-ingress/types';
import { type DaemonProgress, daemonStatus } from '../daemon/status.js';
import type { RuntimeDynamicOptions, UpstreamMode } from '../dynamic/runtime-dynamic.js';
import { createMetrics } from '../http/metrics.js';
import { reconcilerMetrics, recordStoreOutcome } from '../http/metrics-hooks.js';
import type { HttpServer } from '../http/server.js';
import { freePort } from '../net/free-port.js';
import { routesDebugView } from '../routes/routes-renderer.js';
import { type Runtime, startRuntime } from '../runtime/runtime.js';
import { type DemoBackend, startLocalBackends } from './backends.js';
import { startDemoEndpoints } from './demo-endpoints.js';
import { type DemoModeChoice, decideDemoMode } from './demo-mode.js';
import { createDemoRoutes, describeRoute, routeChangePrinter } from './demo-routes.js';
import { demoNginxConf } from './nginx-conf.js';
import { readScenarioLines, rewriteScenarioLine, scenarioTasks } from './scenario.js';
import { DEMO_CLUSTER_ARN, DEMO_STREAM_PORT_PLACEHOLDER } from './scenario-builder.js';

export interface DemoOptions {
  /** HTTP port of NGINX on 127.0.0.1. */
  readonly port: number;
  /** TCP (stream) port; default a free one. */
  readonly streamPort?: number;
  /** Replay speed factor (2 = twice as fast). Default 1. */
  readonly speed?: number;
  /** One human-readable line at a time (the CLI prints to stdout). */
  readonly out: (line: string) => void;
  readonly logger?: Logger;
  readonly nginxBinary?: string;
  readonly scenarioFile?: string;
  /** Reconciler timing (tests shorten it). */
  readonly debounce?: { readonly minMs?: number; readonly maxMs?: number };
  readonly minReloadIntervalMs?: number;
  /** Upstream mode; default `auto`: dynamic when the NGINX Lua modules are installed. */
  readonly mode?: DemoModeChoice;
  /** Existence check for the mode decision (tests). Default `fs.existsSync`. */
  readonly exists?: (path: string) => boolean;
  /**
   * Port of /metrics, /healthz, /readyz and /debug/* on 127.0.0.1, as the daemon serves them
   * (the CLI's default is the daemon's 10254, which deploy/prometheus scrapes). Default 0: a free one.
   */
  readonly adminPort?: number;
}

/** The TCP service of the demo's stream server (its `stream` file holds only this one). */
const DEMO_STREAM_SERVICE = 'api';

export interface DemoSession {
  readonly httpPort: number;
  readonly streamPort: number;
  readonly prefix: string;
  /** The upstream mode running. */
  readonly mode: UpstreamMode;
  readonly backends: readonly DemoBackend[];
  readonly runtime: Runtime;
  readonly store: ClusterStore;
  /** `http://127.0.0.1:<port>` of /metrics, /healthz, /readyz, /debug/state, /debug/upstreams. */
  readonly adminUrl: string;
  /** Resolves when every scenario line was dispatched and the last change applied. */
  readonly finished: Promise<void>;
  /** Stops the replay, NGINX (gracefully) and the backends, removes the prefix. Idempotent. */
  stop(): Promise<void>;
}

function describeEvent(event: ClusterEvent): string {
  switch (event.kind) {
    case 'task': {
      const t = event.task;
      const desired = t.desiredStatus === t.lastStatus ? '' : ` (desired ${t.desiredStatus})`;
      const stop = t.stopCode === undefined ? '' : ` ${t.stopCode}: "${t.stoppedReason ?? ''}"`;
      const where = t.eniPrivateIpv4Address === undefined ? '' : ` ${t.eniPrivateIpv4Address}`;
      return `${(t.serviceName ?? '-').padEnd(4)} task ${t.taskArn.slice(-8)}${where} ${t.lastStatus}${desired} v${t.version}${stop}`;
    }
    case 'task-definition':
      return `task definition ${event.taskDefinition.family}:${event.taskDefinition.revision}`;
    case 'snapshot':
      return `cluster snapshot: services ${(event.services ?? []).join(', ')}; ${event.tasks.length} tasks`;
    case 'container-instance':
      return `container instance ${event.containerInstance.containerInstanceArn}`;
    case 'services':
      return `services ${event.services.join(', ')}`;
    case 'service':
      return `service ${event.service.serviceName} created ${new Date(event.service.createdAt).toISOString()}`;
    case 'ignored':
      return `ignored ${event.detailType}`;
  }
}

const ms = (value: number) => `${Math.round(value)} ms`;

/**
 * Dynamic mode's files in the prefix; the control server on a unix socket there (no port to
 * collide with a daemon's 10255), or on a free loopback port when the prefix path does not fit a
 * socket address (about 100 characters, plain characters only).
 */
async function dynamicOptions(prefix: string): Promise<RuntimeDynamicOptions> {
  let controlListen = `unix:${join(prefix, 'control.sock')}`;
  try {
    checkControlListen(controlListen);
  } catch {
    controlListen = `127.0.0.1:${await freePort()}`;
  }
  return {
    preambleFile: join(prefix, 'ecs-ingress-dynamic.conf'),
    streamUpstreamsFile: join(prefix, 'upstreams.stream.conf'),
    controlListen,
    streamServices: [DEMO_STREAM_SERVICE],
  };
}

/** Starts backends, NGINX and the replay; the scenario plays in the background (`finished`). */
export async function startDemo(options: DemoOptions): Promise<DemoSession> {
  const out = options.out;
  const logger = options.logger ?? silentLogger;
  // Before anything starts: a forced, unavailable dynamic mode fails here, with what is missing.
  const decision = decideDemoMode(options.mode ?? 'auto', options.exists);
  const lines = readScenarioLines(options.scenarioFile);
  const { groups, ips, ports } = await startLocalBackends(scenarioTasks(lines));
  const backends = groups.flatMap((g) => g.backends);
  let prefix: string | undefined;
  let admin: HttpServer | undefined;
  try {
    const streamPort = options.streamPort ?? (await freePort());
    prefix = await mkdtemp(join(tmpdir(), 'ecs-ingress-demo-'));
    // NGINX's workers run as `nobody` when we are root: they must traverse the prefix.
    await chmod(prefix, 0o755);
    await mkdir(join(prefix, 'tmp'), { recursive: true });
    const configFile = join(prefix, 'nginx.conf');
    const dynamic = decision.mode === 'dynamic' ? await dynamicOptions(prefix) : undefined;
    const upstreamsFile = join(prefix, dynamic === undefined ? 'upstreams.conf' : 'upstreams.http.conf');
    const routes = createDemoRoutes({ prefix, httpPort: options.port, streamPort, logger });
    await writeFile(
      configFile,
      demoNginxConf({
        upstreamsFile,
        routesHttpFile: routes.httpFile,
        routesStreamFile: routes.streamFile,
        ...(dynamic === undefined
          ? {}
          : {
              dynamic: {
                preambleFile: dynamic.preambleFile,
                streamUpstreamsFile: dynamic.streamUpstreamsFile,
              },
            }),
      }),
    );

    out('ecs-ingress demo — an ECS cluster replayed onto loopback');
    out(
      decision.mode === 'dynamic'
        ? `  Upstream mode: dynamic (${decision.reason}): endpoint changes are pushed to NGINX's Lua balancer without a reload; new services and the stream upstream (${DEMO_STREAM_SERVICE}) reload`
        : `  Upstream mode: reload (${decision.reason}): every change reloads NGINX`,
    );
    for (const b of backends)
      out(`  backend ${b.service.padEnd(4)} task ${b.shortId} on ${b.host}:${b.port}`);
    out(`  NGINX prefix ${prefix}`);

    // The daemon's metrics and endpoints, fed by the replay instead of AWS (status.ts reads `progress`).
    const metrics = createMetrics();
    const progress: DaemonProgress = { phase: 'waiting-for-first-sync', sourceMode: () => 'replay' };
    const store = new ClusterStore({ onOutcome: (outcome) => recordStoreOutcome(metrics, outcome) });
    let liveRoutes: () => ReturnType<Runtime['liveRoutes']> = () => undefined;
    admin = await startDemoEndpoints({
      port: options.adminPort ?? 0,
      metrics,
      logger,
      status: {
        ...daemonStatus({
          progress,
          state: () => store.snapshot(),
          cluster: DEMO_CLUSTER_ARN,
          upstreamsFile,
          ...(dynamic === undefined ? {} : { dynamicFiles: [dynamic.streamUpstreamsFile] }),
        }),
        debugRoutes: () => routesDebugView(liveRoutes(), routes.renderer.latest()),
      },
    });
    out(
      `  Metrics and debug: ${admin.url}/metrics  ${admin.url}/debug/state  ${admin.url}/debug/upstreams  ${admin.url}/debug/routes`,
    );
    const routeChanges = routeChangePrinter();
    const adminUrl = admin.url;
    let snapshotSeen!: () => void;
    const snapshotDone = new Promise<void>((resolve) => {
      snapshotSeen = resolve;
    });
    const runtime = startRuntime({
      nginx: {
        configFile,
        prefix,
        ...(options.nginxBinary === undefined ? {} : { binary: options.nginxBinary }),
      },
      upstreamsFile,
      store,
      derive: (state) => deriveUpstreams(state, { clusterArn: DEMO_CLUSTER_ARN }),
      routes: routes.renderer,
      startWhen: snapshotDone,
      logger,
      reconcilerMetrics: reconcilerMetrics(metrics),
      metrics,
      ...(dynamic === undefined
        ? {}
        : { upstreamMode: 'dynamic' as const, dynamic: { ...dynamic, metrics } }),
      ...(options.debounce === undefined ? {} : { debounce: options.debounce }),
      ...(options.minReloadIntervalMs === undefined
        ? {}
        : { minReloadIntervalMs: options.minReloadIntervalMs }),
      onStarted: (info) => {
        out(`  NGINX started (pid ${info.pid}) with ${info.upstreams.map((u) => u.name).join(', ')}`);
        out('');
        out("  Try, while the scenario plays (every route comes from the services' docker labels):");
        out(
          `    curl -s http://127.0.0.1:${options.port}/web/     (20 % to web-canary, a canary-weight label)`,
        );
        out(`    curl -s http://127.0.0.1:${options.port}/api/`);
        out(`    curl -s http://127.0.0.1:${streamPort}/      (TCP stream proxy to api, a tcp route)`);
        out(`    curl -s ${adminUrl}/debug/routes      (every route, its owner and state)`);
        out('');
      },
      onApplied: (change) => {
        if (change.reloaded === false) {
          out(
            `         ⇢ endpoints pushed to NGINX, no reload (apply ${ms(change.durationMs)}, ${ms(change.latencyMs)} after the change)`,
          );
        } else {
          const reload =
            change.reloadDurationMs === undefined ? '' : `, reload ${ms(change.reloadDurationMs)}`;
          out(
            `         ⟳ NGINX reloaded (apply ${ms(change.durationMs)}${reload}, ${ms(change.latencyMs)} after the change)`,
          );
        }
        for (const line of change.lines) out(`             ${line}`);
        for (const line of routeChanges(runtime.liveRoutes()?.table.reports)) out(`             ${line}`);
      },
      onFailed: (failure) => {
        out(
          `         ✗ apply failed at ${failure.stage}: ${failure.error.message}; previous config keeps serving`,
        );
      },
    });

    liveRoutes = () => runtime.liveRoutes();
    progress.phase = 'starting-nginx';
    progress.runner = runtime.runner;
    progress.pushedEndpoints = () => runtime.pushedEndpoints();
    const ready = () => {
      progress.firstSyncAt ??= Date.now();
      progress.configAppliedAt ??= Date.now();
      progress.phase = 'running';
    };
    const abort = new AbortController();
    const strings = new Map([[DEMO_STREAM_PORT_PLACEHOLDER, String(streamPort)]]);
    const rewritten = lines.map((line) => rewriteScenarioLine(line, { ips, ports, strings }));
    const finished = (async () => {
      let t0: number | undefined;
      const paced = paceRecording(readRecording(Readable.from(rewritten.map((l) => `${l}\n`))), {
        speed: options.speed ?? 1,
        signal: abort.signal,
      });
      for await (const line of paced) {
        if (line.kind !== 'event') {
          if (line.kind === 'invalid') out(`  line ${line.lineNo}: invalid (${line.error.reason})`);
          continue;
        }
        t0 ??= line.at;
        const at = line.at === undefined || t0 === undefined ? '' : `+${((line.at - t0) / 1000).toFixed(1)}s`;
        const late =
          line.at !== undefined && line.clock !== undefined && line.at < line.clock ? ' (late)' : '';
        for (const event of line.envelope.events) {
          const outcome = store.dispatch(event);
          const note = outcome === 'applied' ? '' : `  ← ${outcome}, dropped`;
          out(`  ${at.padStart(6)}${late} ${describeEvent(event)}${note}`);
          if (event.kind === 'snapshot') {
            snapshotSeen();
            // The story goes on once NGINX serves the first render.
            await runtime.ready;
            ready();
          }
        }
      }
      if (abort.signal.aborted) return;
      // A scenario without a snapshot still gets NGINX started at its end.
      snapshotSeen();
      await runtime.ready;
      ready();
      await runtime.flush();
      out('');
      out(`  Routes now (${adminUrl}/debug/routes):`);
      for (const report of runtime.liveRoutes()?.table.reports ?? []) out(`    ${describeRoute(report)}`);
      out('');
      out('  Scenario finished.');
    })();
    finished.catch(() => undefined);

    const dir = prefix;
    const http = admin;
    let stopping: Promise<void> | undefined;
    const stop = () => {
      stopping ??= (async () => {
        abort.abort();
        progress.phase = 'stopping';
        await runtime.stop();
        await http.close();
        await finished.catch(() => undefined);
        await Promise.all(groups.map((g) => g.close()));
        await rm(dir, { recursive: true, force: true });
      })();
      return stopping;
    };
    return {
      httpPort: options.port,
      streamPort,
      prefix,
      mode: decision.mode,
      backends,
      runtime,
      store,
      adminUrl: http.url,
      finished,
      stop,
    };
  } catch (error) {
    await admin?.close();
    await Promise.all(groups.map((g) => g.close()));
    if (prefix !== undefined) await rm(prefix, { recursive: true, force: true });
    throw error;
  }
}
