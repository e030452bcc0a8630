/**
 * The runtime's public face (runtime.ts wires it): its options, what it returns, and the records it
 * emits as NGINX starts and configs go live.
 */
import type { NginxRunner, NginxRunnerOptions } from '@ecs-ingress/nginx-runner';
import type { UpstreamDiff } from '@ecs-ingress/renderer';
import type { ClusterState } from '@ecs-ingress/store';
import type { Logger, Upstream } from '@ecs-ingress/types';
import type { Observable, ObservableInput } from 'rxjs';
import type { PushedEndpoints } from '../dynamic/dynamic-applier.js';
import type { RuntimeDynamicOptions, UpstreamMode } from '../dynamic/runtime-dynamic.js';
import type { Metrics } from '../http/metrics.js';
import type { AppliedChange, ApplyFailure, Reconciler, ReconcilerMetrics } from '../reconciler/pipeline.js';
import type { RoutesRender, RoutesRenderer } from '../routes/routes-renderer.js';
import type { RuntimeDerivation } from './render-config.js';

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
  /**
   * Routes from labels (issue 16): its two files are rendered with the upstreams, applied in the
   * same apply, and `nginx -t` output is read for "conflicting server name" (shadowed routes).
   * `derive` must then return `routeSources`.
   */
  readonly routes?: RoutesRenderer;
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
  /** The routes NGINX serves now (as last applied); undefined without routes or before an apply. */
  liveRoutes(): RoutesRender | undefined;
  /** The bundle changed: what its servers shadow is found anew, so the latest state renders again. */
  bundleChanged(): void;
  readonly runner: NginxRunner;
  readonly reconciler: Reconciler;
}
