/**
 * The files the bundle's `nginx -t` needs before NGINX starts (daemon step 4): the upstreams
 * file(s) and the two route files, rendered from the first sync's derivation, or put back from
 * their last known good copies.
 */
import { join } from 'node:path';
import { NginxRunner, writeFileAtomic } from '@ecs-ingress/nginx-runner';
import { renderUpstreams } from '@ecs-ingress/renderer';
import type { Derivation } from '@ecs-ingress/store';
import type { Logger } from '@ecs-ingress/types';
import type { DaemonConfig } from '../config/env.js';
import { renderDynamicConfig } from '../dynamic/dynamic-render.js';
import { dynamicLuaDir } from '../dynamic/lua-path.js';
import { type RuntimeDynamicOptions, withStreamUpstreams } from '../dynamic/runtime-dynamic.js';
import type { RoutesHooks } from '../routes/routes-renderer.js';
import { createRoutesRenderer, type RoutesRenderer } from '../routes/routes-renderer.js';
import { parseRenderedUpstreams } from '../runtime/upstreams-text.js';

type File = { readonly path: string; readonly content: string };

/** The files the daemon writes and NGINX includes (for `mkdir` and the start-up log line). */
export function ownFiles(config: DaemonConfig): string[] {
  const upstreams =
    config.upstreamMode === 'dynamic'
      ? [config.dynamic.httpUpstreamsFile, config.dynamic.preambleFile, config.dynamic.streamUpstreamsFile]
      : [config.upstreamsFile];
  return [...upstreams, config.routes.httpFile, config.routes.streamFile];
}

/** The runtime's dynamic-mode options from the configuration. */
export function dynamicRuntimeOptions(
  config: DaemonConfig,
  metrics: NonNullable<RuntimeDynamicOptions['metrics']>,
): RuntimeDynamicOptions {
  return {
    preambleFile: config.dynamic.preambleFile,
    streamUpstreamsFile: config.dynamic.streamUpstreamsFile,
    controlListen: config.dynamic.controlListen,
    luaPackagePath: dynamicLuaDir(),
    streamServices: config.dynamic.streamServices,
    endpointDebounce: config.dynamic.endpointDebounce,
    metrics,
  };
}

/** The routes renderer of the daemon's configuration. */
export function createDaemonRoutes(config: DaemonConfig, hooks: RoutesHooks, logger: Logger): RoutesRenderer {
  const { routes } = config;
  const builtIn = config.bundle.s3 === undefined && config.bundle.dir === undefined;
  return createRoutesRenderer({
    httpFile: routes.httpFile,
    streamFile: routes.streamFile,
    settings: {
      tcpPorts: routes.tcpPorts,
      ...(routes.hostPolicy === undefined ? {} : { hostPolicy: routes.hostPolicy }),
      ...(routes.defaultDomain === undefined ? {} : { defaultDomain: routes.defaultDomain }),
    },
    render: {
      httpListen: routes.httpListen,
      httpsListen: routes.httpsListen,
      // `tls=bundle:<name>`: <bundle>/tls/<name>.crt through the `current` link NGINX runs from.
      bundleDir: join(config.workDir, 'current'),
      defaultServer: routes.defaultServer === 'on' || (routes.defaultServer === 'auto' && builtIn),
    },
    hooks,
    logger,
  });
}

/** Every file rendered from one derivation, as the runtime's first render writes them. */
export function renderStartupFiles(
  config: DaemonConfig,
  derivation: Pick<Derivation, 'upstreams' | 'routeSources'>,
  routes: RoutesRenderer,
): readonly File[] {
  const routed = routes.render(derivation.routeSources);
  const routeFiles = routed.files;
  if (config.upstreamMode !== 'dynamic') {
    return [
      { path: config.upstreamsFile, content: renderUpstreams(derivation.upstreams).text },
      ...routeFiles,
    ];
  }
  const { dynamic } = config;
  const files = renderDynamicConfig(derivation.upstreams, {
    httpUpstreamsFile: dynamic.httpUpstreamsFile,
    preambleFile: dynamic.preambleFile,
    streamUpstreamsFile: dynamic.streamUpstreamsFile,
    controlListen: dynamic.controlListen,
    luaPackagePath: dynamicLuaDir(),
    streamServices: withStreamUpstreams(dynamic.streamServices, routed.tcpUpstreams),
  }).files;
  return [...files, ...routeFiles];
}

/**
 * Puts back the last known good upstreams file and the route files beside it, so NGINX can start
 * at once, even while AWS is unreachable. False when there is no readable one, and always in
 * `dynamic` mode (its endpoints live in NGINX's shared memory, not in a file): the caller then
 * writes the render of the first sync's state.
 */
export async function restoreLastKnownGood(
  config: DaemonConfig,
  routes: RoutesRenderer,
  logger: Logger,
): Promise<boolean> {
  if (config.upstreamMode === 'dynamic') return false;
  const text = await NginxRunner.lastKnownGood(config.upstreamsFile);
  const lastGood = text === undefined ? undefined : parseRenderedUpstreams(text);
  if (lastGood === undefined || text === undefined) return false;
  logger.info({ upstreams: lastGood.upstreams.length }, 'starting from the last known good upstreams file');
  await writeFileAtomic(config.upstreamsFile, text);
  await writeFiles(await lastGoodRouteFiles(routes));
  return true;
}

/** The route files' last known good copies, or (when one is missing) the routes of no service. */
async function lastGoodRouteFiles(routes: RoutesRenderer): Promise<readonly File[]> {
  const [http, stream] = routes.filePaths();
  const httpText = await NginxRunner.lastKnownGood(http);
  const streamText = await NginxRunner.lastKnownGood(stream);
  if (httpText !== undefined && streamText !== undefined) {
    return [
      { path: http, content: httpText },
      { path: stream, content: streamText },
    ];
  }
  return routes.render([]).files;
}

export async function writeFiles(files: readonly File[]): Promise<void> {
  for (const file of files) await writeFileAtomic(file.path, file.content);
}
