/**
 * One host of the route table → its text: the `split_clients` of its canaries, its `server` on the
 * http ports and, with TLS, its `server` on the https ports. Cached by the host object: resolution
 * returns the same object for a host whose routes did not change, so a render after a small change
 * writes only the hosts it touched. Canary variables are named after the host
 * (`$ecs_ingress_canary_<12 hex of sha256(host)>_<n>`), never numbered across hosts.
 */
import { createHash } from 'node:crypto';
import type { ResolvedHost, ResolvedLocation } from '@ecs-ingress/types';
import {
  auditDirectives,
  block,
  type Directive,
  directive,
  fixed,
  RouteRenderUnsafeError,
  writeDirectives,
} from './conf-tree.js';

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

export function allowList(allow: readonly string[] | undefined): Directive[] {
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
  canaries: ReadonlyMap<ResolvedLocation, string>,
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

/**
 * 12 hex digits of the host's SHA-256: short, because NGINX keeps variable names in a hash whose
 * buckets are 64 bytes by default (`variables_hash_bucket_size`; a name spelled out from a
 * 253-character host fails `nginx -t`), and independent of the other hosts, so a cached text stays
 * right. Two hosts of one file sharing the 48 bits is ~1e-7 at 10,000 hosts, and would fail
 * `nginx -t` (a duplicate variable), never route wrongly.
 */
function variableSuffix(host: string): string {
  return createHash('sha256').update(host, 'utf8').digest('hex').slice(0, 12);
}

export interface HostListen {
  readonly http: readonly string[];
  readonly https: readonly string[];
  readonly bundleDir: string;
}

interface CachedHost {
  readonly listen: HostListen;
  readonly text: string;
  /** sha256 of `text`: the file's hash is taken over these, not over the whole file again. */
  readonly hash: string;
  readonly servers: number;
}

const hostCache = new WeakMap<ResolvedHost, CachedHost>();

/** The audited text of one host, its sha256, and how many `server` blocks it has. */
export function renderHost(
  host: ResolvedHost,
  listen: HostListen,
): { text: string; hash: string; servers: number } {
  const cached = hostCache.get(host);
  if (cached !== undefined && cached.listen === listen) return cached;
  const directives: Directive[] = [];
  const canaries = new Map<ResolvedLocation, string>();
  host.locations.forEach((location, index) => {
    if (location.canary === undefined) return;
    const variable = `$ecs_ingress_canary_${variableSuffix(host.host)}_${index}`;
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
  });
  directives.push(server(listen.http, host, false, listen.bundleDir, canaries));
  if (host.tls.kind === 'bundle')
    directives.push(server(listen.https, host, true, listen.bundleDir, canaries));
  auditDirectives(directives);
  const text = writeDirectives(directives);
  const hash = createHash('sha256').update(text, 'utf8').digest('hex');
  const result = { listen, text, hash, servers: host.tls.kind === 'bundle' ? 2 : 1 };
  hostCache.set(host, result);
  return result;
}
