/**
 * The two generated route files of issue 16, rendered only from the typed route table:
 *
 * - `renderHttpRoutes(table, options)`: for the `http` context — a `map` for WebSocket upgrades, a
 *   `split_clients` per canary, and per host a `server` on the http ports and, when the host has
 *   TLS, one on the https ports with the bundle's certificate.
 * - `renderStreamRoutes(table)`: for the `stream` context — a `server` per tcp route.
 *
 * Both are audited (conf-tree.ts) before they are written, start with a
 * `# ecs-ingress routes-<kind> sha256:<hex of the body>` line, and are byte-identical for equal
 * tables.
 */
import { createHash } from 'node:crypto';
import type { ResolvedHost, ResolvedLocation, RouteTable } from '@ecs-ingress/types';
import { RenderOptionError } from '../errors.js';
import {
  auditDirectives,
  block,
  type Directive,
  directive,
  fixed,
  RouteRenderUnsafeError,
  writeDirectives,
} from './conf-tree.js';

export interface RouteRenderOptions {
  /** `listen` arguments of the plain http servers: `80`, `127.0.0.1:8080`, `[::]:80`. Default `['80']`. */
  readonly httpListen?: readonly string[];
  /** `listen` arguments of the TLS servers (`ssl` is added). Default `['443']`. */
  readonly httpsListen?: readonly string[];
  /**
   * Absolute directory of the unpacked bundle: `tls=bundle:<name>` uses
   * `<bundleDir>/tls/<name>.crt` and `<bundleDir>/tls/<name>.key`.
   */
  readonly bundleDir: string;
  /**
   * Also write a `default_server` on the http (and, with TLS hosts, https) ports that answers 404
   * (https: rejects the handshake), so a request for an unknown host never reaches the first
   * route's server — NGINX's default otherwise. Off by default: a bundle with its own
   * `default_server` on the same port would make `nginx -t` fail with "a duplicate default server".
   */
  readonly defaultServer?: boolean;
}

export interface RoutesRenderResult {
  /** The whole file: the hash line, then the body. */
  readonly text: string;
  readonly hash: string;
  /** `server` blocks written. */
  readonly serverCount: number;
}

/** NGINX's usual `server_names_hash_bucket_size` (one cache line on x86-64 and arm64). */
const DEFAULT_BUCKET_SIZE = 64;

/**
 * The `server_names_hash_bucket_size` a host name needs. NGINX refuses to start ("could not build
 * server_names_hash") when one name does not fit a bucket: an entry takes a pointer plus the name
 * and 2 bytes, rounded up to a pointer, and the bucket ends with one more pointer
 * (`NGX_HASH_ELT_SIZE` in ngx_hash.c). With 8-byte pointers a 46-character name fits the usual 64;
 * the longest name the grammar allows (253) needs 512. Powers of two, as NGINX's own advice.
 */
export function serverNamesBucketSize(longestHost: number): number {
  const needed = 8 + Math.ceil((longestHost + 2) / 8) * 8 + 8;
  let size = DEFAULT_BUCKET_SIZE;
  while (size < needed) size *= 2;
  return size;
}

/** Gzip for the usual text types; the rest are compressed already or not worth it. */
const GZIP_TYPES = [
  'text/plain',
  'text/css',
  'text/javascript',
  'application/javascript',
  'application/json',
  'application/xml',
  'text/xml',
];
const LISTEN =
  /^(?:[1-9][0-9]{0,4}|(?:[0-9]{1,3}\.){3}[0-9]{1,3}:[1-9][0-9]{0,4}|\[[0-9a-f:]+\]:[1-9][0-9]{0,4})$/;
const ABSOLUTE_DIR = /^(?:\/[A-Za-z0-9._-]+)+$/;

function checkOptions(options: RouteRenderOptions): { http: readonly string[]; https: readonly string[] } {
  const http = options.httpListen ?? ['80'];
  const https = options.httpsListen ?? ['443'];
  for (const [option, list] of [
    ['httpListen', http],
    ['httpsListen', https],
  ] as const) {
    if (list.length === 0) throw new RenderOptionError(option, 'at least one listen address is needed');
    for (const listen of list) {
      if (!LISTEN.test(listen))
        throw new RenderOptionError(option, `"${listen}" is not a port, ipv4:port or [ipv6]:port`);
    }
  }
  if (!ABSOLUTE_DIR.test(options.bundleDir) || options.bundleDir.split('/').includes('..')) {
    throw new RenderOptionError('bundleDir', `"${options.bundleDir}" is not a plain absolute directory`);
  }
  return { http, https };
}

function withHeader(
  kind: 'http' | 'stream',
  directives: readonly Directive[],
  serverCount: number,
): RoutesRenderResult {
  auditDirectives(directives);
  const body = writeDirectives(directives);
  const hash = createHash('sha256').update(body, 'utf8').digest('hex');
  return { text: `# ecs-ingress routes-${kind} sha256:${hash}\n${body}`, hash, serverCount };
}

/** One NGINX location of a route: its modifier, path and the URI `proxy_pass` replaces it by. */
interface NginxLocation {
  readonly exact: boolean;
  readonly path: string;
  readonly route: ResolvedLocation;
  /** `undefined`: the request URI is passed unchanged. */
  readonly uri?: string;
}

/**
 * A prefix route matches whole segments: `/orders` becomes `location = /orders` and
 * `location /orders/`. Strip and rewrite use `proxy_pass` with a URI, which NGINX substitutes for
 * the matched location path — literal, no regex.
 */
function expand(route: ResolvedLocation): NginxLocation[] {
  const { stripPrefix, rewritePrefix } = route.spec;
  const target = stripPrefix ? '/' : rewritePrefix;
  const withUri = (exact: boolean, path: string, uri: string | undefined): NginxLocation =>
    uri === undefined ? { exact, path, route } : { exact, path, route, uri };
  const underTarget = target === undefined ? undefined : `${target.replace(/\/$/, '')}/`;
  if (route.match === 'exact') return [withUri(true, route.path, target)];
  if (route.path.endsWith('/')) return [withUri(false, route.path, underTarget)];
  return [withUri(true, route.path, target), withUri(false, `${route.path}/`, underTarget)];
}

function byNginxOrder(a: NginxLocation, b: NginxLocation): number {
  if (a.exact !== b.exact) return a.exact ? -1 : 1;
  return b.path.length - a.path.length || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);
}

const PROXY_HEADERS: readonly Directive[] = [
  directive('proxy_http_version', '1.1'),
  directive('proxy_set_header', 'Upgrade', fixed('$http_upgrade')),
  directive('proxy_set_header', 'Connection', fixed('$ecs_ingress_connection_upgrade')),
  directive('proxy_set_header', 'Host', fixed('$host')),
  directive('proxy_set_header', 'X-Real-IP', fixed('$remote_addr')),
  directive('proxy_set_header', 'X-Forwarded-For', fixed('$proxy_add_x_forwarded_for')),
  directive('proxy_set_header', 'X-Forwarded-Proto', fixed('$scheme')),
];

function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

function allowList(allow: readonly string[] | undefined): Directive[] {
  if (allow === undefined) return [];
  return [...allow.map((cidr) => directive('allow', cidr)), directive('deny', 'all')];
}

function locationBody(
  location: NginxLocation,
  secure: boolean,
  canaryVariable: string | undefined,
): Directive[] {
  const { spec, upstream } = location.route;
  if (!secure && spec.httpsRedirect) return [directive('return', 308, fixed('https://$host$request_uri'))];
  const body: Directive[] = [...allowList(spec.allow)];
  if (spec.methods !== undefined) body.push(block('limit_except', spec.methods, [directive('deny', 'all')]));
  if (spec.maxBody !== undefined) body.push(directive('client_max_body_size', spec.maxBody.text));
  if (spec.timeoutMs !== undefined) {
    body.push(directive('proxy_read_timeout', formatMs(spec.timeoutMs)));
    body.push(directive('proxy_send_timeout', formatMs(spec.timeoutMs)));
  }
  if (spec.gzip === true) body.push(directive('gzip', 'on'), directive('gzip_types', ...GZIP_TYPES));
  if (spec.gzip === false) body.push(directive('gzip', 'off'));
  if (canaryVariable !== undefined) {
    // With a variable, NGINX would pass a URI as is instead of substituting it: resolution keeps
    // canaries off locations that strip or rewrite, and this refuses to write one anyway.
    if (location.uri !== undefined)
      throw new RouteRenderUnsafeError('proxy_pass', `http://${canaryVariable}${location.uri}`);
    body.push(directive('proxy_pass', fixed(`http://${canaryVariable}`)));
  } else body.push(directive('proxy_pass', `http://${upstream}${location.uri ?? ''}`));
  return body;
}

function server(
  listen: readonly string[],
  host: ResolvedHost,
  secure: boolean,
  bundleDir: string,
  canaries: Map<ResolvedLocation, string>,
): Directive {
  const body: Directive[] = listen.map((l) =>
    secure ? directive('listen', l, 'ssl') : directive('listen', l),
  );
  body.push(directive('server_name', host.host));
  // Inherited by every location (none of them sets its own proxy_set_header): WebSocket upgrades
  // always work, and the upstream sees the client's host, address and scheme.
  body.push(...PROXY_HEADERS);
  if (secure && host.tls.kind === 'bundle') {
    body.push(directive('ssl_certificate', `${bundleDir}/tls/${host.tls.name}.crt`));
    body.push(directive('ssl_certificate_key', `${bundleDir}/tls/${host.tls.name}.key`));
  }
  const locations = host.locations.flatMap(expand).sort(byNginxOrder);
  for (const location of locations) {
    const args = location.exact ? [fixed('='), location.path] : [location.path];
    body.push(block('location', args, locationBody(location, secure, canaries.get(location.route))));
  }
  // A host without a route at `/` answers 404 for other paths, instead of NGINX's default of
  // serving files from `<prefix>/html`.
  if (!locations.some((l) => !l.exact && l.path === '/')) {
    body.push(block('location', ['/'], [directive('return', 404)]));
  }
  return block('server', [], body);
}

function defaultServers(http: readonly string[], https: readonly string[]): Directive[] {
  const servers = [
    block(
      'server',
      [],
      [...http.map((l) => directive('listen', l, 'default_server')), directive('return', 404)],
    ),
  ];
  if (https.length > 0) {
    const listen = https.map((l) => directive('listen', l, 'ssl', 'default_server'));
    // No certificate needed: the handshake of an unknown name is refused (NGINX >= 1.19.4).
    servers.push(block('server', [], [...listen, directive('ssl_reject_handshake', 'on')]));
  }
  return servers;
}

export function renderHttpRoutes(table: RouteTable, options: RouteRenderOptions): RoutesRenderResult {
  const listen = checkOptions(options);
  const directives: Directive[] = [
    // Our own variable name: a bundle that defines the usual `$connection_upgrade` keeps working.
    block(
      'map',
      [fixed('$http_upgrade'), fixed('$ecs_ingress_connection_upgrade')],
      [directive('default', 'upgrade'), directive('""', 'close')],
    ),
  ];
  // Only when a name needs more than the usual 64, so the common case leaves the directive to the
  // bundle (NGINX refuses it twice in one http block: a bundle that sets it must fit our hosts).
  const bucketSize = serverNamesBucketSize(Math.max(0, ...table.hosts.map((h) => h.host.length)));
  if (bucketSize > DEFAULT_BUCKET_SIZE)
    directives.push(directive('server_names_hash_bucket_size', bucketSize));
  const canaries = new Map<ResolvedLocation, string>();
  for (const host of table.hosts) {
    for (const location of host.locations) {
      if (location.canary === undefined) continue;
      const variable = `$ecs_ingress_canary_${canaries.size + 1}`;
      canaries.set(location, variable);
      directives.push(
        block(
          'split_clients',
          [fixed('$request_id'), fixed(variable)],
          [
            directive(`${location.canary.weight}%`, location.canary.upstream),
            directive('*', location.upstream),
          ],
        ),
      );
    }
  }
  let serverCount = 0;
  if (options.defaultServer === true) {
    const tls = table.hosts.some((host) => host.tls.kind === 'bundle');
    directives.push(...defaultServers(listen.http, tls ? listen.https : []));
    serverCount += tls ? 2 : 1;
  }
  for (const host of table.hosts) {
    directives.push(server(listen.http, host, false, options.bundleDir, canaries));
    serverCount += 1;
    if (host.tls.kind === 'bundle') {
      directives.push(server(listen.https, host, true, options.bundleDir, canaries));
      serverCount += 1;
    }
  }
  return withHeader('http', directives, serverCount);
}

export function renderStreamRoutes(table: RouteTable): RoutesRenderResult {
  const directives = table.tcp.map((route) =>
    block(
      'server',
      [],
      [directive('listen', route.listen), ...allowList(route.allow), directive('proxy_pass', route.upstream)],
    ),
  );
  return withHeader('stream', directives, directives.length);
}
