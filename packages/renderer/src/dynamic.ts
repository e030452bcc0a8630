/**
 * Dynamic upstream mode (issue 7): endpoint changes go to a Lua balancer through a loopback
 * control endpoint instead of a reload. This file renders the two http-context files of that mode;
 * the Lua modules they call live elsewhere and must provide:
 *
 * - `require("ecs_ingress.balancer").balance(name)` — called in `balancer_by_lua_block` of the
 *   upstream `name`; picks the peer from the shared dictionary `ecs_ingress_endpoints`.
 * - `require("ecs_ingress.balancer").header_filter()` / `.body_filter()` — run for every response
 *   (http-level `header_filter_by_lua_block` / `body_filter_by_lua_block`); they turn the 502 of a
 *   service with no endpoint into a 503 with `X-ECS-Ingress-No-Endpoints: <name>`.
 * - `require("ecs_ingress.control").init(names)` — called in `init_by_lua_block` with the known
 *   service names (the control endpoint refuses any other); it also loads the balancer, so both
 *   modules are loaded once in the master and shared by every worker after fork.
 * - `require("ecs_ingress.control").handle()` — the `content_by_lua_block` of `location = /endpoints`
 *   on the internal control server; validates and stores endpoint sets.
 *
 * NGINX allows ONE `init_by_lua*`, ONE `header_filter_by_lua*` and ONE `body_filter_by_lua*` in the
 * http context ("is duplicate"), so a user bundle used in dynamic mode must not define its own at
 * http level (server/location-level filters replace the http-level ones there, which disables the
 * 503 rewrite in that location but nothing else). A missing or broken module stops NGINX at start
 * (a reload keeps the old configuration) instead of failing requests later; `nginx -t` does not run
 * `init_by_lua` (checked with NGINX 1.22 + lua-nginx-module 0.10.23), so it cannot catch that.
 *
 * Stream upstreams have no Lua balancer in Debian (no stream Lua module), so in dynamic mode the
 * output of `renderUpstreams` is written to its own file (e.g. `stream-upstreams.conf`) and
 * included only in `stream`, while `http` includes the preamble and the dynamic upstreams file:
 *
 * ```
 * load_module modules/ndk_http_module.so;      # NDK must be loaded before the Lua module
 * load_module modules/ngx_http_lua_module.so;
 * http   { include ecs-ingress-dynamic.conf; include upstreams.conf; ... }
 * stream { include stream-upstreams.conf; ... }
 * ```
 */
import { isValidIpv4, isValidPort } from './addresses.js';
import { RenderOptionError } from './errors.js';
import { type RenderResult, withHashHeader } from './hash.js';
import { normalizeUpstreams } from './normalize.js';

/** Name of the `lua_shared_dict` holding the endpoint sets (the Lua modules use this name). */
export const ENDPOINTS_SHARED_DICT = 'ecs_ingress_endpoints';
/** Lua module whose `balance(name)` runs in every dynamic upstream's `balancer_by_lua_block`. */
export const BALANCER_LUA_MODULE = 'ecs_ingress.balancer';
/** Lua module whose `init(names)` runs at (re)load and whose `handle()` serves the control location. */
export const CONTROL_LUA_MODULE = 'ecs_ingress.control';
/** Path of the control location on the internal control server. */
export const CONTROL_LOCATION = '/endpoints';
/** Upstream keepalive connections per worker when the caller sets none. */
export const DEFAULT_DYNAMIC_KEEPALIVE = 32;

/**
 * An upstream needs at least one `server`. 0.0.0.1 is not routable, and `down` makes NGINX's
 * round-robin fallback fail at once (502) if the balancer ever sets no peer, rather than trying it.
 */
export const DYNAMIC_PLACEHOLDER_SERVER = 'server 0.0.0.1:1 down;';

/**
 * Renders the http upstreams file of dynamic mode: per service an `upstream <name>` (so the user's
 * `proxy_pass http://<name>` keeps working) with the placeholder server, a `balancer_by_lua_block`
 * keyed by the name, and `keepalive` **after** the balancer block — the Lua module replaces the
 * upstream's peer initialisation, so a `keepalive` placed before it is silently lost.
 *
 * Names go through the same checks as `renderUpstreams` (unsafe names and case-insensitive
 * duplicates skipped). The names are safe in a Lua double-quoted string because `isSafeUpstreamName`
 * allows no quote or backslash. `keepalive: 0` omits the directive.
 */
export function renderDynamicHttpUpstreams(
  names: readonly string[],
  options: { keepalive?: number } = {},
): RenderResult {
  const keepalive = options.keepalive ?? DEFAULT_DYNAMIC_KEEPALIVE;
  if (!Number.isInteger(keepalive) || keepalive < 0 || keepalive > 65535) {
    throw new RenderOptionError('keepalive', `must be an integer 0..65535, got ${String(keepalive)}`);
  }
  const normalized = normalizeUpstreams(names.map((name) => ({ name, servers: [] })));
  let body = '';
  for (const { name } of normalized.upstreams) {
    if (body !== '') body += '\n';
    body += `upstream ${name} {\n`;
    body += `  ${DYNAMIC_PLACEHOLDER_SERVER}\n`;
    body += '  balancer_by_lua_block {\n';
    body += `    require("${BALANCER_LUA_MODULE}").balance("${name}")\n`;
    body += '  }\n';
    if (keepalive > 0) body += `  keepalive ${keepalive};\n`;
    body += '}\n';
  }
  const { text, hash } = withHashHeader('dynamic-upstreams', body);
  return {
    text,
    hash,
    upstreamCount: normalized.upstreams.length,
    serverCount: 0,
    skipped: normalized.skipped,
  };
}

export interface DynamicHttpPreambleOptions {
  /** Where the control server listens: `127.x.x.x:<port>`, `[::1]:<port>` or `unix:/abs/path`. Nothing else. */
  readonly controlListen: string;
  /**
   * Where the `ecs_ingress/*.lua` modules are: Lua search-path entries separated by `;`
   * (`/app/lua/?.lua`); an entry without `?` is taken as a directory (`/app/lua` → `/app/lua/?.lua`).
   * The default path is appended (`;;`), which is where Debian's lua-resty-core lives.
   */
  readonly luaPackagePath: string;
  /** Size of the `ecs_ingress_endpoints` shared dictionary, NGINX size syntax. Default `8m`. */
  readonly dictSize?: string;
  /** Largest control request body, NGINX size syntax. Default `1m` (about 40,000 endpoints). */
  readonly maxBodySize?: string;
}

const SIZE = /^[1-9][0-9]{0,9}[kKmM]?$/;

/**
 * Renders the file the user includes once in `http` in dynamic mode: the Lua search path, the
 * shared dictionary, `init(names)` with the known service names, the 503 filters, and the internal
 * control server. The control server only ever listens on loopback or a unix socket (anything else
 * throws `RenderOptionError`), and also denies non-loopback clients, in case the listen address is
 * ever widened by hand.
 *
 * `names` go through the same checks as `renderDynamicHttpUpstreams` (unsafe names and
 * case-insensitive duplicates dropped, code-point order), so the control endpoint knows exactly the
 * services that have an upstream block. The names are safe in a Lua double-quoted string because
 * `isSafeUpstreamName` allows no quote or backslash.
 */
export function renderDynamicHttpPreamble(
  names: readonly string[],
  options: DynamicHttpPreambleOptions,
): string {
  const listen = checkControlListen(options.controlListen);
  const packagePath = checkLuaPackagePath(options.luaPackagePath);
  const dictSize = checkSize('dictSize', options.dictSize ?? '8m');
  const maxBody = checkSize('maxBodySize', options.maxBodySize ?? '1m');
  const known = normalizeUpstreams(names.map((name) => ({ name, servers: [] }))).upstreams.map(
    ({ name }) => `"${name}"`,
  );
  return [
    '# ecs-ingress dynamic mode: include once in the http context, before the dynamic upstreams file.',
    '# NGINX allows one init_by_lua*, header_filter_by_lua* and body_filter_by_lua* in http: the',
    '# including configuration must not define its own there.',
    `lua_package_path "${packagePath};;";`,
    `lua_shared_dict ${ENDPOINTS_SHARED_DICT} ${dictSize};`,
    '',
    '# The known services; the control endpoint refuses endpoints for any other. Loads the balancer.',
    'init_by_lua_block {',
    `  require("${CONTROL_LUA_MODULE}").init(${known.length === 0 ? '{}' : `{ ${known.join(', ')} }`})`,
    '}',
    '',
    '# A service with no endpoint: its 502 becomes 503 + X-ECS-Ingress-No-Endpoints: <service>.',
    'header_filter_by_lua_block {',
    `  require("${BALANCER_LUA_MODULE}").header_filter()`,
    '}',
    'body_filter_by_lua_block {',
    `  require("${BALANCER_LUA_MODULE}").body_filter()`,
    '}',
    '',
    '# Internal control server: endpoint updates from ecs-ingress. Loopback or unix socket only.',
    'server {',
    `  listen ${listen};`,
    '  access_log off;',
    '',
    `  location = ${CONTROL_LOCATION} {`,
    '    allow 127.0.0.0/8;',
    '    allow ::1;',
    '    allow unix:;',
    '    deny all;',
    // Equal limits keep the whole body in memory, so the handler reads it with ngx.req.get_body_data().
    `    client_max_body_size ${maxBody};`,
    `    client_body_buffer_size ${maxBody};`,
    '    content_by_lua_block {',
    `      require("${CONTROL_LUA_MODULE}").handle()`,
    '    }',
    '  }',
    '',
    '  location / {',
    '    return 404;',
    '  }',
    '}',
    '',
  ].join('\n');
}

/**
 * Accepts only loopback: `127.x.x.x:<port>`, `[::1]:<port>`, or `unix:<absolute path>`. The unix
 * path is limited to 107 bytes (sun_path is 108 bytes with the NUL) and to plain path characters.
 * Returns the value to write after `listen`.
 */
export function checkControlListen(value: string): string {
  const inet = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[::1\]):(\d{1,5})$/.exec(value);
  if (inet !== null) {
    const host = inet[1] ?? '';
    const port = Number(inet[2]);
    if ((host === '[::1]' || isValidIpv4(host)) && isValidPort(port)) return value;
  } else if (/^unix:\/[A-Za-z0-9_./-]{1,106}$/.test(value) && !value.includes('/../')) {
    return value;
  }
  throw new RenderOptionError(
    'controlListen',
    `${JSON.stringify(value)} is not a loopback address: use 127.x.x.x:<port>, [::1]:<port> or unix:/<path>`,
  );
}

function checkLuaPackagePath(value: string): string {
  // Written inside a double-quoted NGINX string: quotes, backslashes and control characters would
  // end or corrupt it.
  const entries = value.split(';').filter((entry) => entry !== '');
  if (entries.length === 0 || entries.some((entry) => /["\\\p{Cc}]/u.test(entry))) {
    throw new RenderOptionError('luaPackagePath', `${JSON.stringify(value)} is not a usable Lua search path`);
  }
  return entries
    .map((entry) => (entry.includes('?') ? entry : `${entry.replace(/\/+$/, '')}/?.lua`))
    .join(';');
}

function checkSize(option: string, value: string): string {
  if (!SIZE.test(value)) {
    throw new RenderOptionError(option, `${JSON.stringify(value)} is not an NGINX size such as 8m or 512k`);
  }
  return value;
}
