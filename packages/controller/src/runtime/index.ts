/**
 * The controller runtime: store → derivation → renderer → reconciler → nginx-runner, plus the
 * SIGTERM/SIGINT helper. Used by `ecs-ingress run`, `replay --nginx` and `demo`.
 *
 * ```ts
 * const runtime = startRuntime({
 *   nginx: { configFile: '/app/nginx/nginx.conf', prefix: '/app/nginx', binary: '/usr/sbin/nginx' },
 *   upstreamsFile: '/app/nginx/upstreams.conf',
 *   store,                                   // anything with state$ (ClusterStore)
 *   derive: (s) => deriveUpstreams(s, { clusterArn }),
 *   startWhen: firstSyncDone,                // Promise/Observable; default: at once
 *   debounce: { minMs: 200, maxMs: 2000 },   // defaults
 *   minReloadIntervalMs: 1000,               // default
 *   logger, reconcilerMetrics, metrics,      // all optional
 *   onStarted(info) {}, onApplied(change) {}, onFailed(failure) {},
 * });
 * await runtime.ready;     // NGINX serves (last known good file, or the first render after startWhen)
 * runtime.applied$;        // RuntimeAppliedChange: AppliedChange + upstreams, diff, lines
 * runtime.failures$;       // ApplyFailure: the old config keeps serving
 * await runtime.flush();   // apply what is pending now (skips the debounce)
 * await runtime.stop();    // finish the apply in flight, NGINX graceful quit
 *
 * installShutdownHandlers({ steps: [{ name: 'sources', run: stopSources }, { name: 'runtime', run: runtime.stop }], logger });
 * ```
 */
export type {
  Runtime,
  RuntimeAppliedChange,
  RuntimeDerivation,
  RuntimeNginxOptions,
  RuntimeOptions,
  RuntimeRenderMeta,
  RuntimeStartInfo,
} from './runtime.js';
export { startRuntime } from './runtime.js';
export type { ShutdownHandle, ShutdownOptions, ShutdownStep } from './shutdown.js';
export { installShutdownHandlers, runShutdownSteps } from './shutdown.js';
export type { RenderedUpstreamsFile } from './upstreams-text.js';
export { parseRenderedUpstreams } from './upstreams-text.js';
