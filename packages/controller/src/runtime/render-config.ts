/**
 * The runtime's pure render step: a state → derivation → the upstreams file(s) (reload or dynamic
 * mode) and, with routes from labels on, the two route files. One `RenderedConfig` whose hash
 * covers every file, so a route change is a change like any other; in dynamic mode the route
 * files are structural (their hash folds into the structural hash), so a route change reloads and
 * an endpoint-only change still does not.
 */
import { createHash } from 'node:crypto';
import { createUpstreamsRenderer } from '@ecs-ingress/renderer';
import type { ServiceRouteSource } from '@ecs-ingress/store';
import type { Logger, Upstream } from '@ecs-ingress/types';
import { type DynamicRenderMeta, dynamicMetaOf } from '../dynamic/dynamic-render.js';
import type { DynamicRuntimeParts } from '../dynamic/runtime-dynamic.js';
import type { RenderedConfig } from '../reconciler/types.js';
import type { RoutesRender, RoutesRenderer } from '../routes/routes-renderer.js';

/** What the runtime needs of a derivation: the upstreams (the rest is passed through as `meta`). */
export interface RuntimeDerivation {
  readonly upstreams: readonly Upstream[];
  /** Task ARNs RUNNING but not yet HEALTHY (diagnostics). */
  readonly awaitingHealth?: readonly string[];
  /** Task ARNs that should route but whose address or port is unknown (diagnostics). */
  readonly unresolved?: readonly string[];
  /** Services publishing routes from labels (needed when routes are on). */
  readonly routeSources?: readonly ServiceRouteSource[];
}

/** `RenderedConfig.meta` of every config the runtime renders. */
export interface RuntimeRenderMeta {
  readonly upstreams: readonly Upstream[];
  readonly serverCount: number;
  readonly awaitingHealth: readonly string[];
  readonly unresolved: readonly string[];
  /** With routes from labels on: the route table and files of this config. */
  readonly routes?: RoutesRender;
}

export function runtimeMetaOf(config: { meta?: unknown }): RuntimeRenderMeta | undefined {
  const meta = config.meta as RuntimeRenderMeta | undefined;
  return meta !== undefined && Array.isArray(meta.upstreams) ? meta : undefined;
}

/** The config hash of reload mode: the upstreams file's own hash, or with routes both together. */
export function combineConfigHash(upstreamsHash: string, routesHash: string | undefined): string {
  if (routesHash === undefined) return upstreamsHash;
  return createHash('sha256').update(`${upstreamsHash}+${routesHash}`, 'utf8').digest('hex');
}

export interface StateRenderParts<S> {
  readonly derive: (state: S) => RuntimeDerivation;
  readonly upstreamsPath: string;
  readonly dynamic?: Pick<DynamicRuntimeParts, 'render'>;
  readonly routes?: RoutesRenderer;
  readonly logger: Logger;
}

/** The render function the reconciler runs for every state. */
export function createStateRender<S>(parts: StateRenderParts<S>): (state: S) => RenderedConfig {
  // Remembers its last file: after a change to a few services only their blocks are rendered again.
  const renderFile = createUpstreamsRenderer();
  const { dynamic, routes, logger } = parts;
  return (state) => {
    const derived = parts.derive(state);
    const diagnostics = {
      awaitingHealth: derived.awaitingHealth ?? [],
      unresolved: derived.unresolved ?? [],
    };
    const routed = routes?.render(derived.routeSources ?? []);
    if (dynamic !== undefined) {
      const config = dynamic.render(
        derived.upstreams,
        { ...diagnostics, ...(routed === undefined ? {} : { routes: routed }) },
        routed?.tcpUpstreams,
      );
      if (routed === undefined) return config;
      const meta = dynamicMetaOf(config) as DynamicRenderMeta;
      const structuralHash = combineConfigHash(meta.structuralHash, routed.hash);
      return {
        hash: `${structuralHash}.${meta.endpointsHash}`,
        files: [...config.files, ...routed.files],
        meta: { ...(config.meta as object), structuralHash },
      };
    }
    const result = renderFile(derived.upstreams, { logger });
    const meta: RuntimeRenderMeta = {
      upstreams: derived.upstreams,
      serverCount: result.serverCount,
      ...diagnostics,
      ...(routed === undefined ? {} : { routes: routed }),
    };
    return {
      hash: combineConfigHash(result.hash, routed?.hash),
      files: [{ path: parts.upstreamsPath, content: result.text }, ...(routed?.files ?? [])],
      meta,
    };
  };
}
