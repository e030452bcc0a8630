/**
 * What the runtime renders from a state: the derivation (the store's, or the caller's), then either
 * the upstreams file (reload mode, re-rendering only the services that changed) or the dynamic
 * mode's files and endpoints.
 */
import type { NginxRunner } from '@ecs-ingress/nginx-runner';
import { createUpstreamsRenderer } from '@ecs-ingress/renderer';
import type { ClusterState } from '@ecs-ingress/store';
import { createUpstreamDeriver, type UpstreamDeriver } from '@ecs-ingress/store';
import type { Logger } from '@ecs-ingress/types';
import { ConfigError } from '@ecs-ingress/types';
import { createDynamicRuntimeParts, type DynamicRuntimeParts } from '../dynamic/runtime-dynamic.js';
import type { RenderedConfig } from '../reconciler/types.js';
import type { RuntimeOptions, RuntimeRenderMeta } from './runtime.js';

/** The render meta of an applied or rendered config, when it came from this runtime. */
export function metaOf(config: { meta?: unknown }): RuntimeRenderMeta | undefined {
  const meta = config.meta as RuntimeRenderMeta | undefined;
  return meta !== undefined && Array.isArray(meta.upstreams) ? meta : undefined;
}

export function createRuntimeRender<S>(
  options: RuntimeOptions<S>,
  upstreamsPath: string,
  runner: NginxRunner,
  logger: Logger,
): { render: (state: S) => RenderedConfig; dynamicParts: DynamicRuntimeParts | undefined } {
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
          target: runner,
          ...(options.minReloadIntervalMs === undefined
            ? {}
            : { minReloadIntervalMs: options.minReloadIntervalMs }),
          ...(options.logger === undefined ? {} : { logger: options.logger }),
        })
      : undefined;
  // Remembers its last file: after a change to a few services only their blocks are rendered again.
  const renderFile = createUpstreamsRenderer();
  const render = (state: S): RenderedConfig => {
    const derived = derive(state);
    if (dynamicParts !== undefined) {
      return dynamicParts.render(derived.upstreams, {
        awaitingHealth: derived.awaitingHealth ?? [],
        unresolved: derived.unresolved ?? [],
      });
    }
    const result = renderFile(derived.upstreams, { logger });
    const meta: RuntimeRenderMeta = {
      upstreams: derived.upstreams,
      serverCount: result.serverCount,
      awaitingHealth: derived.awaitingHealth ?? [],
      unresolved: derived.unresolved ?? [],
    };
    return { hash: result.hash, files: [{ path: upstreamsPath, content: result.text }], meta };
  };
  return { render, dynamicParts };
}
