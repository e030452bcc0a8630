/**
 * What the runtime (runtime/runtime.ts) needs to run in dynamic upstream mode, in one place so its
 * hook stays a few lines: the render function, the applier, and the reconciler's reload spacing.
 */
import type { Logger, Upstream } from '@ecs-ingress/types';
import type { ApplyTarget } from '../reconciler/apply-config.js';
import type { RenderedConfig } from '../reconciler/types.js';
import { DynamicControlClient } from './control-client.js';
import { createDynamicApplier, type DynamicApplier, type DynamicRunnerEvents } from './dynamic-applier.js';
import {
  type DynamicRenderMemo,
  isEndpointOnlyChange,
  renderDynamicConfig,
  type StreamServices,
} from './dynamic-render.js';
import { dynamicLuaDir } from './lua-path.js';

/** `ECS_INGRESS_UPSTREAM_MODE`. */
export type UpstreamMode = 'reload' | 'dynamic';

export interface RuntimeDynamicOptions {
  /** The preamble file (the user includes it in `http` before the upstreams file). */
  readonly preambleFile: string;
  /** The stream upstreams file (the user includes it in `stream`, if at all). */
  readonly streamUpstreamsFile: string;
  /** Control server: `127.x.x.x:<port>`, `[::1]:<port>` or `unix:/path`. */
  readonly controlListen: string;
  /** Default: the modules shipped with the controller (`dynamicLuaDir()`). */
  readonly luaPackagePath?: string;
  /** `ECS_INGRESS_STREAM_SERVICES`; default `'none'`. */
  readonly streamServices?: StreamServices;
  readonly keepalive?: number;
  /**
   * `ECS_INGRESS_ENDPOINT_DEBOUNCE_MIN` / `_MAX`: the reconciler's debounce for endpoint-only changes
   * (a push, no reload). Default min 0 / max 100 ms: pushed at once (a microtask after the change).
   */
  readonly endpointDebounce?: { readonly minMs: number; readonly maxMs: number };
  /** `createMetrics()` (its `dynamicUpdates` counter). */
  readonly metrics?: { readonly dynamicUpdates: { inc(labels: { result: string }): void } };
}

export interface DynamicRuntimeParts {
  /**
   * Renders a derivation; `extraMeta` is merged into the meta (the runtime's diagnostics);
   * `streamUpstreams`: more upstreams the stream file must hold (those tcp routes proxy to).
   */
  render(
    upstreams: readonly Upstream[],
    extraMeta: Record<string, unknown>,
    streamUpstreams?: readonly string[],
  ): RenderedConfig;
  readonly applier: DynamicApplier;
  /** Closes the applier and the control client's kept-alive connection (at the runtime's stop). */
  close(): void;
  /** The reconciler must not space applies: the applier spaces reloads, pushes go at once. */
  readonly reconcilerMinReloadIntervalMs: 0;
  /**
   * The reconciler's `quickChange`: endpoint-only changes skip the (reload) debounce and wait
   * `endpointDebounce` instead; structural ones keep the debounce and the applier's spacing.
   */
  readonly quickChange: {
    readonly isQuick: typeof isEndpointOnlyChange;
    readonly debounce: { readonly minMs: number; readonly maxMs: number };
  };
}

/**
 * `ECS_INGRESS_STREAM_SERVICES` plus the upstreams tcp routes proxy to: the stream context has no
 * Lua balancer, so those get plain blocks there (and each change of their tasks reloads).
 */
export function withStreamUpstreams(base: StreamServices, extra: readonly string[] = []): StreamServices {
  if (base === 'all' || extra.length === 0) return base;
  return [...new Set([...(base === 'none' ? [] : base), ...extra])];
}

/** Defaults of `RuntimeDynamicOptions.endpointDebounce` (and of ECS_INGRESS_ENDPOINT_DEBOUNCE_*). */
export const DEFAULT_ENDPOINT_DEBOUNCE = { minMs: 0, maxMs: 100 } as const;

/** The `http://…` or `unix:…` URL the control client uses for a preamble `listen` value. */
export function controlUrlFor(controlListen: string): string {
  return controlListen.startsWith('unix:') ? controlListen : `http://${controlListen}`;
}

export function createDynamicRuntimeParts(options: {
  readonly dynamic: RuntimeDynamicOptions;
  /** The http upstreams file (the runtime's `upstreamsFile`). */
  readonly httpUpstreamsFile: string;
  readonly target: ApplyTarget & DynamicRunnerEvents;
  readonly minReloadIntervalMs?: number;
  readonly logger?: Logger;
}): DynamicRuntimeParts {
  const { dynamic } = options;
  const client = new DynamicControlClient({
    endpoint: controlUrlFor(dynamic.controlListen),
    ...(options.logger === undefined ? {} : { logger: options.logger }),
  });
  const applier = createDynamicApplier({
    target: options.target,
    client,
    runner: options.target,
    minReloadIntervalMs: options.minReloadIntervalMs ?? 1000,
    ...(options.logger === undefined ? {} : { logger: options.logger }),
    ...(dynamic.metrics === undefined ? {} : { metrics: dynamic.metrics }),
  });
  // The structural files are rendered again only when the service names change.
  const memo: DynamicRenderMemo = {};
  return {
    render(upstreams, extraMeta, streamUpstreams) {
      const streamServices = withStreamUpstreams(dynamic.streamServices ?? 'none', streamUpstreams);
      const config = renderDynamicConfig(
        upstreams,
        {
          httpUpstreamsFile: options.httpUpstreamsFile,
          preambleFile: dynamic.preambleFile,
          streamUpstreamsFile: dynamic.streamUpstreamsFile,
          controlListen: dynamic.controlListen,
          luaPackagePath: dynamic.luaPackagePath ?? dynamicLuaDir(),
          streamServices,
          ...(dynamic.keepalive === undefined ? {} : { keepalive: dynamic.keepalive }),
          ...(options.logger === undefined ? {} : { logger: options.logger }),
        },
        memo,
      );
      return { ...config, meta: { ...extraMeta, ...(config.meta as object) } };
    },
    applier,
    close() {
      applier.close();
      client.close();
    },
    reconcilerMinReloadIntervalMs: 0,
    quickChange: {
      isQuick: isEndpointOnlyChange,
      debounce: { ...(dynamic.endpointDebounce ?? DEFAULT_ENDPOINT_DEBOUNCE) },
    },
  };
}
