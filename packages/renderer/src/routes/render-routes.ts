/**
 * The two generated route files of issue 16, rendered only from the typed route table:
 *
 * - `renderHttpRoutes(table, options)`: for the `http` context — a `map` for WebSocket upgrades, a
 *   `split_clients` per canary, and per host a `server` on the http ports and, when the host has
 *   TLS, one on the https ports with the bundle's certificate.
 * - `renderStreamRoutes(table)`: for the `stream` context — a `server` per tcp route.
 *
 * Both are audited (conf-tree.ts) before they are written, start with a
 * `# ecs-ingress routes-<kind> sha256:<hex>` line, and are byte-identical for equal tables. The
 * stream file's hash is the sha256 of its body; the http file's is the sha256 of its head's text
 * followed by the hex sha256 of each host's text (cached with the text): the same for equal
 * tables, without hashing ~1 MB again when one host of 1,000 changed.
 */
import { createHash } from 'node:crypto';
import type { RouteTable } from '@ecs-ingress/types';
import { RenderOptionError } from '../errors.js';
import { auditDirectives, block, type Directive, directive, fixed, writeDirectives } from './conf-tree.js';
import { allowList, type HostListen, renderHost } from './render-host.js';

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

function withHash(
  kind: 'http' | 'stream',
  body: string,
  serverCount: number,
  hash = createHash('sha256').update(body, 'utf8').digest('hex'),
): RoutesRenderResult {
  return { text: `# ecs-ingress routes-${kind} sha256:${hash}\n${body}`, hash, serverCount };
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

/** The last options seen, as one object: the host cache keys on its identity. */
let lastListen: HostListen | undefined;

function hostListen(options: RouteRenderOptions): HostListen {
  const { http, https } = checkOptions(options);
  const same = (a: readonly string[], b: readonly string[]) =>
    a.length === b.length && a.every((x, i) => x === b[i]);
  if (
    lastListen === undefined ||
    lastListen.bundleDir !== options.bundleDir ||
    !same(lastListen.http, http) ||
    !same(lastListen.https, https)
  ) {
    lastListen = { http, https, bundleDir: options.bundleDir };
  }
  return lastListen;
}

export function renderHttpRoutes(table: RouteTable, options: RouteRenderOptions): RoutesRenderResult {
  const listen = hostListen(options);
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
  let longest = 0;
  for (const host of table.hosts) longest = Math.max(longest, host.host.length);
  const bucketSize = serverNamesBucketSize(longest);
  if (bucketSize > DEFAULT_BUCKET_SIZE)
    directives.push(directive('server_names_hash_bucket_size', bucketSize));
  let serverCount = 0;
  if (options.defaultServer === true) {
    const tls = table.hosts.some((host) => host.tls.kind === 'bundle');
    directives.push(...defaultServers(listen.http, tls ? listen.https : []));
    serverCount += tls ? 2 : 1;
  }
  auditDirectives(directives);
  const head = writeDirectives(directives);
  // `+=`, not `join`: V8 links the cached host texts instead of copying ~1 MB into a new string
  // on every render; the copy happens once, when the file is written (only when its hash changed).
  let body = head;
  let hostHashes = '';
  for (const host of table.hosts) {
    const rendered = renderHost(host, listen);
    body += rendered.text;
    hostHashes += rendered.hash;
    serverCount += rendered.servers;
  }
  const hash = createHash('sha256').update(head, 'utf8').update(hostHashes, 'latin1').digest('hex');
  return withHash('http', body, serverCount, hash);
}

export function renderStreamRoutes(table: RouteTable): RoutesRenderResult {
  const directives = table.tcp.map((route) =>
    block(
      'server',
      [],
      [directive('listen', route.listen), ...allowList(route.allow), directive('proxy_pass', route.upstream)],
    ),
  );
  auditDirectives(directives);
  return withHash('stream', writeDirectives(directives), directives.length);
}
