/**
 * Rendering in dynamic upstream mode (issue 7). Three files, all STRUCTURAL (their bytes change only
 * when a reload is needed), plus the endpoint sets that go to the Lua control endpoint instead:
 *
 * - the http upstreams file: one `upstream <service>` per service with a Lua balancer, no servers;
 * - the preamble: Lua path, shared dict, `init(names)`, filters, the loopback control server;
 * - the stream upstreams file: ordinary `upstream` blocks with servers (Debian ships no stream Lua
 *   module, so stream stays reload-based), for the services in `streamServices` only.
 *
 * Include change for users coming from reload mode (the ancestor included ONE file in http and in
 * stream):
 *
 * ```
 * load_module modules/ndk_http_module.so;       # before the Lua module, which needs it
 * load_module modules/ngx_http_lua_module.so;
 * http   { include /app/nginx/ecs-ingress-dynamic.conf; include /app/nginx/upstreams.conf; ... }
 * stream { include /app/nginx/stream-upstreams.conf; ... }   # only if stream is used
 * ```
 *
 * `streamServices` (env `ECS_INGRESS_STREAM_SERVICES`): the stream file's servers change with the
 * tasks, and every such change reloads. So by default (`'none'`) the stream file is empty and an
 * endpoint change never reloads; list the services a `stream` block proxies to, or `'all'` for the
 * ancestor's behaviour (every service in both contexts) at the cost of a reload per task change.
 */
import { createHash } from 'node:crypto';
import {
  createUpstreamsRenderer,
  renderDynamicHttpPreamble,
  renderDynamicHttpUpstreams,
  renderUpstreams,
  type UpstreamsRenderer,
} from '@ecs-ingress/renderer';
import type { Logger, Upstream } from '@ecs-ingress/types';
import type { RenderedConfig } from '../reconciler/types.js';
import { type EndpointsMemo, endpointSetsOf } from './dynamic-endpoints.js';

/** Which services get `upstream` blocks (with servers) in the stream file. */
export type StreamServices = readonly string[] | 'all' | 'none';

export interface DynamicRenderOptions {
  /** Absolute path of the http upstreams file (the user's `include` in `http`). */
  readonly httpUpstreamsFile: string;
  /** Absolute path of the preamble (included in `http` before the upstreams file). */
  readonly preambleFile: string;
  /** Absolute path of the stream upstreams file (included in `stream`, if at all). */
  readonly streamUpstreamsFile: string;
  /** Control server address: `127.x.x.x:<port>`, `[::1]:<port>` or `unix:/path`. */
  readonly controlListen: string;
  /** Where `ecs_ingress/*.lua` are (`dynamicLuaDir()` for the modules shipped with the controller). */
  readonly luaPackagePath: string;
  /** Default `'none'`: endpoint-only changes never reload (see the file comment). */
  readonly streamServices?: StreamServices;
  /** Upstream keepalive connections per worker (renderer default 32; 0 = none). */
  readonly keepalive?: number;
  /** `lua_shared_dict` size (renderer default `8m`). */
  readonly dictSize?: string;
  readonly logger?: Logger;
}

/** What `renderDynamic` returns. */
export interface DynamicRender {
  /** The three files; `hash` is the structural hash (endpoint-only changes leave it alone). */
  readonly config: RenderedConfig;
  /** Endpoints per rendered service (`"ip:port"`, sorted, distinct); services with none map to `[]`. */
  readonly endpoints: Record<string, string[]>;
  /** Hash of `endpoints`, stable across key order. */
  readonly endpointsHash: string;
  /** Endpoints over every service in `endpoints`. */
  readonly serverCount: number;
}

/** `RenderedConfig.meta` of a dynamic-mode config (see `renderDynamicConfig`). */
export interface DynamicRenderMeta {
  readonly mode: 'dynamic';
  /** The derived upstreams as given (diffs, debug pages). */
  readonly upstreams: readonly Upstream[];
  readonly endpoints: Readonly<Record<string, readonly string[]>>;
  readonly structuralHash: string;
  readonly endpointsHash: string;
  /** Real servers rendered (same meaning as the reload-mode meta), for logs. */
  readonly serverCount: number;
}

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

function streamSelection(upstreams: readonly Upstream[], services: StreamServices): Upstream[] {
  if (services === 'all') return [...upstreams];
  if (services === 'none') return [];
  const wanted = new Set(services);
  return upstreams.filter((upstream) => wanted.has(upstream.name));
}

/**
 * Pure: renders the dynamic-mode files for `upstreams` and the endpoint sets to push. Only names
 * the renderer accepts (safe, case-insensitively distinct) get an upstream, are known to `init()`
 * and appear in `endpoints`, so a push never names a service NGINX does not know (which the
 * control endpoint would refuse as a whole). Throws `RenderOptionError` for bad options.
 */
export function renderDynamic(
  upstreams: readonly Upstream[],
  options: DynamicRenderOptions,
  memo: DynamicRenderMemo = {},
): DynamicRender {
  const logOptions = options.logger === undefined ? {} : { logger: options.logger };
  memo.endpoints ??= {};
  const sets = endpointSetsOf(upstreams, logOptions, memo.endpoints);
  const names = sets.names;
  // Warnings about skipped items were already logged once by `endpointSetsOf` above.
  const selection = streamSelection(upstreams, options.streamServices ?? 'none');
  memo.stream ??= createUpstreamsRenderer();
  const stream = selection.length === 0 ? renderUpstreams(selection) : memo.stream(selection);
  let structural = memo.last;
  if (
    structural === undefined ||
    structural.stream !== stream.text ||
    !sameStrings(structural.names, names)
  ) {
    const http = renderDynamicHttpUpstreams(
      names,
      options.keepalive === undefined ? {} : { keepalive: options.keepalive },
    );
    const preamble = renderDynamicHttpPreamble(names, {
      controlListen: options.controlListen,
      luaPackagePath: options.luaPackagePath,
      ...(options.dictSize === undefined ? {} : { dictSize: options.dictSize }),
    });
    const files = [
      { path: options.httpUpstreamsFile, content: http.text },
      { path: options.preambleFile, content: preamble },
      { path: options.streamUpstreamsFile, content: stream.text },
    ];
    // Length-prefixed so moving bytes from one file to the next cannot collide.
    const hash = sha256(files.map((file) => `${file.content.length}:${file.content}`).join('\n'));
    structural = { names, stream: stream.text, files, hash };
    memo.last = structural;
  }

  return {
    config: { hash: structural.hash, files: structural.files },
    endpoints: sets.endpoints,
    endpointsHash: sets.hash,
    serverCount: sets.serverCount,
  };
}

/**
 * What `renderDynamic` remembers between calls with the same options (one per runtime): the
 * structural files and their hash, for the service names and stream file they were rendered
 * from; the endpoint sets per service (`endpointSetsOf`); the stream file's blocks. An
 * endpoint-only change of one service (the common one) then normalises, sorts and hashes that
 * service's endpoints only, and renders neither the names-only http file nor the preamble again.
 */
export interface DynamicRenderMemo {
  endpoints?: EndpointsMemo;
  stream?: UpstreamsRenderer;
  last?: {
    readonly names: readonly string[];
    readonly stream: string;
    readonly files: RenderedConfig['files'];
    readonly hash: string;
  };
}

function sameStrings(a: readonly string[], b: readonly string[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * `renderDynamic` shaped for the reconciler: `hash` = structural hash + endpoints hash, so the
 * reconciler schedules an apply for either kind of change, and `meta` (`DynamicRenderMeta`) lets
 * the dynamic applier tell them apart (a reload only when `structuralHash` moved).
 */
export function renderDynamicConfig(
  upstreams: readonly Upstream[],
  options: DynamicRenderOptions,
  memo?: DynamicRenderMemo,
): RenderedConfig {
  const { config, endpoints, endpointsHash, serverCount } = renderDynamic(upstreams, options, memo);
  const meta: DynamicRenderMeta = {
    mode: 'dynamic',
    upstreams,
    endpoints,
    structuralHash: config.hash,
    endpointsHash,
    serverCount,
  };
  return { hash: `${config.hash}.${endpointsHash}`, files: config.files, meta };
}

/** The `DynamicRenderMeta` of a config rendered by `renderDynamicConfig`, or undefined. */
export function dynamicMetaOf(config: { readonly meta?: unknown }): DynamicRenderMeta | undefined {
  const meta = config.meta as Partial<DynamicRenderMeta> | undefined;
  return meta?.mode === 'dynamic' && typeof meta.structuralHash === 'string'
    ? (meta as DynamicRenderMeta)
    : undefined;
}

/**
 * The reconciler's `quickChange.isQuick` in dynamic mode: `next` differs from the baseline config
 * (in flight or applied; `baselineMeta` is its meta) in endpoints only — same structural hash — so
 * the dynamic applier pushes it without a reload. False when either was not rendered by
 * `renderDynamicConfig`.
 */
export function isEndpointOnlyChange(next: { readonly meta?: unknown }, baselineMeta: unknown): boolean {
  const to = dynamicMetaOf(next);
  const from = dynamicMetaOf({ meta: baselineMeta });
  return to !== undefined && from !== undefined && to.structuralHash === from.structuralHash;
}

/**
 * Parses `ECS_INGRESS_STREAM_SERVICES`: `none` (default when empty or unset), `all`, or a
 * comma-separated list of service names.
 */
export function parseStreamServices(value: string | undefined): StreamServices {
  const text = (value ?? '').trim();
  if (text === '' || text === 'none') return 'none';
  if (text === 'all') return 'all';
  return [
    ...new Set(
      text
        .split(',')
        .map((name) => name.trim())
        .filter((name) => name !== ''),
    ),
  ];
}
