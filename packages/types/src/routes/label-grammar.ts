/**
 * Docker labels → typed route specs (issue 16).
 *
 * ```
 * ecs-ingress.http.<r>.<key>=<value>     ecs-ingress.http.<key>=<value>   (route "default")
 * ecs-ingress.tcp.<r>.<key>=<value>      ecs-ingress.tcp.<key>=<value>
 * ```
 * `<r>` is `[a-z0-9][a-z0-9-]{0,30}`. An invalid key or value rejects only its route, with every
 * problem of that route listed (stable codes, messages naming the label). `ecs-ingress.port` and
 * `ecs-ingress.container` steer the upstream and are not route keys; other keys under
 * `ecs-ingress.` outside `http.`/`tcp.` are returned in `ignored`. Pure and deterministic: the
 * result depends on the label set, never on the order of its keys.
 */
import { ROUTE_ERROR_CODES as C, RouteLabelError } from './errors.js';
import {
  type BodySize,
  type HttpMethod,
  type PathMatch,
  parseBoolean,
  parseCidrs,
  parseDuration,
  parseHosts,
  parseMatch,
  parseMethods,
  parsePath,
  parsePort,
  parseSize,
  parseTls,
  parseWeight,
  type TlsSetting,
  type ValueResult,
} from './values.js';

export const LABEL_PREFIX = 'ecs-ingress.';
export const DEFAULT_ROUTE_NAME = 'default';
const ROUTE_NAME = /^[a-z0-9][a-z0-9-]{0,30}$/;
/** Keys under the prefix that are not routes (they pick the container and port of the upstream). */
const UPSTREAM_KEYS = new Set(['ecs-ingress.port', 'ecs-ingress.container']);

export type RouteKind = 'http' | 'tcp';

/** One http route of a service, every value parsed. */
export interface HttpRouteSpec {
  readonly kind: 'http';
  readonly name: string;
  /** Lowercased, sorted; empty when the label is absent (ECS_INGRESS_DEFAULT_DOMAIN may fill it). */
  readonly hosts: readonly string[];
  /** Default `/`. */
  readonly path: string;
  /** Default `prefix`: whole segments, `/orders` matches `/orders` and `/orders/…`, not `/orders-x`. */
  readonly match: PathMatch;
  /** Remove the matched path before proxying (`/orders/x` → `/x`). */
  readonly stripPrefix: boolean;
  /** Replace the matched path by this one (`/orders/x` → `/v2/x`). */
  readonly rewritePrefix?: string;
  /** Another container port: the route gets its own upstream. */
  readonly port?: number;
  readonly tls: TlsSetting;
  /** 308 from http to https; default true when `tls` is not off. */
  readonly httpsRedirect: boolean;
  readonly methods?: readonly HttpMethod[];
  /** Canonical CIDRs; everyone else gets 403. */
  readonly allow?: readonly string[];
  readonly maxBody?: BodySize;
  /** proxy read and send timeout, ms. */
  readonly timeoutMs?: number;
  readonly gzip?: boolean;
  /** 1–99: this route takes that share of another service's route on the same host and path. */
  readonly canaryWeight?: number;
}

/** One tcp (NGINX stream) route of a service. */
export interface TcpRouteSpec {
  readonly kind: 'tcp';
  readonly name: string;
  /** The port NGINX listens on (only those the operator allows are rendered). */
  readonly listen: number;
  /** Another container port: the route gets its own upstream. */
  readonly port?: number;
  readonly allow?: readonly string[];
}

/** A route rejected by the grammar, with every problem found. */
export interface InvalidRouteSpec {
  readonly kind: RouteKind;
  /** As written in the label (it may itself be the problem). */
  readonly name: string;
  readonly errors: readonly RouteLabelError[];
}

export interface ParsedRouteLabels {
  /** True when the service has at least one `http.*` or `tcp.*` key, valid or not. */
  readonly exposed: boolean;
  /** By name. */
  readonly http: readonly HttpRouteSpec[];
  readonly tcp: readonly TcpRouteSpec[];
  readonly invalid: readonly InvalidRouteSpec[];
  /** Other keys under `ecs-ingress.` (not route keys, not port/container): left alone, listed for lint. */
  readonly ignored: readonly string[];
}

type Parser = (text: string) => ValueResult<unknown>;

const HTTP_KEYS: Readonly<Record<string, Parser>> = {
  hosts: parseHosts,
  path: parsePath,
  match: parseMatch,
  'strip-prefix': parseBoolean,
  'rewrite-prefix': parsePath,
  port: parsePort,
  tls: parseTls,
  'https-redirect': parseBoolean,
  methods: parseMethods,
  allow: parseCidrs,
  'max-body': parseSize,
  timeout: parseDuration,
  gzip: parseBoolean,
  'canary-weight': parseWeight,
};

const TCP_KEYS: Readonly<Record<string, Parser>> = { listen: parsePort, port: parsePort, allow: parseCidrs };

interface RawRoute {
  readonly kind: RouteKind;
  readonly name: string;
  readonly values: Map<string, unknown>;
  readonly errors: RouteLabelError[];
}

/** Parses every `ecs-ingress.*` label of one container definition. */
export function parseRouteLabels(labels: Readonly<Record<string, string>>): ParsedRouteLabels {
  const routes = new Map<string, RawRoute>();
  const ignored: string[] = [];
  for (const label of Object.keys(labels).sort()) {
    if (!label.startsWith(LABEL_PREFIX) || UPSTREAM_KEYS.has(label)) continue;
    const rest = label.slice(LABEL_PREFIX.length);
    const kind =
      rest === 'http' || rest.startsWith('http.')
        ? 'http'
        : rest === 'tcp' || rest.startsWith('tcp.')
          ? 'tcp'
          : undefined;
    if (kind === undefined) {
      ignored.push(label);
      continue;
    }
    const tail = rest.slice(kind.length + 1);
    const dot = tail.indexOf('.');
    const name = dot < 0 ? DEFAULT_ROUTE_NAME : tail.slice(0, dot);
    const key = dot < 0 ? tail : tail.slice(dot + 1);
    const id = `${kind} ${name}`;
    let route = routes.get(id);
    if (route === undefined) {
      route = { kind, name, values: new Map(), errors: [] };
      routes.set(id, route);
    }
    if (!ROUTE_NAME.test(name)) {
      route.errors.push(
        new RouteLabelError(C.invalidName, label, 'route name must match [a-z0-9][a-z0-9-]{0,30}'),
      );
      continue;
    }
    const parser = (kind === 'http' ? HTTP_KEYS : TCP_KEYS)[key];
    if (parser === undefined || !Object.hasOwn(kind === 'http' ? HTTP_KEYS : TCP_KEYS, key)) {
      const known = Object.keys(kind === 'http' ? HTTP_KEYS : TCP_KEYS).join(', ');
      route.errors.push(
        new RouteLabelError(C.unknownKey, label, `unknown ${kind} route key (known: ${known})`),
      );
      continue;
    }
    const parsed = parser(labels[label] ?? '');
    if (parsed.ok) route.values.set(key, parsed.value);
    else route.errors.push(new RouteLabelError(parsed.code, label, parsed.reason));
  }
  const http: HttpRouteSpec[] = [];
  const tcp: TcpRouteSpec[] = [];
  const invalid: InvalidRouteSpec[] = [];
  for (const id of [...routes.keys()].sort()) {
    const route = routes.get(id)!;
    const built =
      route.errors.length > 0 ? undefined : route.kind === 'http' ? buildHttp(route) : buildTcp(route);
    if (built === undefined || built instanceof RouteLabelError) {
      if (built instanceof RouteLabelError) route.errors.push(built);
      invalid.push({ kind: route.kind, name: route.name, errors: route.errors });
    } else if (built.kind === 'http') http.push(built);
    else tcp.push(built);
  }
  return { exposed: routes.size > 0, http, tcp, invalid, ignored };
}

function labelOf(route: RawRoute, key: string): string {
  const name = route.name === DEFAULT_ROUTE_NAME ? '' : `${route.name}.`;
  return `${LABEL_PREFIX}${route.kind}.${name}${key}`;
}

function buildHttp(route: RawRoute): HttpRouteSpec | RouteLabelError {
  const v = route.values;
  const get = <T>(key: string): T | undefined => v.get(key) as T | undefined;
  const tls = get<TlsSetting>('tls') ?? { kind: 'off' };
  const stripPrefix = get<boolean>('strip-prefix') ?? false;
  const rewritePrefix = get<string>('rewrite-prefix');
  if (stripPrefix && rewritePrefix !== undefined) {
    return new RouteLabelError(
      C.invalidCombination,
      labelOf(route, 'rewrite-prefix'),
      'use either strip-prefix=true or rewrite-prefix, not both',
    );
  }
  const httpsRedirect = get<boolean>('https-redirect') ?? tls.kind !== 'off';
  if (httpsRedirect && tls.kind === 'off') {
    // Redirecting to https with no certificate of ours would loop behind a plain-http balancer.
    return new RouteLabelError(
      C.invalidCombination,
      labelOf(route, 'https-redirect'),
      'https-redirect=true needs tls=bundle:<name>',
    );
  }
  const spec: { -readonly [K in keyof HttpRouteSpec]: HttpRouteSpec[K] } = {
    kind: 'http',
    name: route.name,
    hosts: get<readonly string[]>('hosts') ?? [],
    path: get<string>('path') ?? '/',
    match: get<PathMatch>('match') ?? 'prefix',
    stripPrefix,
    tls,
    httpsRedirect,
  };
  if (rewritePrefix !== undefined) spec.rewritePrefix = rewritePrefix;
  const port = get<number>('port');
  if (port !== undefined) spec.port = port;
  const methods = get<readonly HttpMethod[]>('methods');
  if (methods !== undefined) spec.methods = methods;
  const allow = get<readonly string[]>('allow');
  if (allow !== undefined) spec.allow = allow;
  const maxBody = get<BodySize>('max-body');
  if (maxBody !== undefined) spec.maxBody = maxBody;
  const timeoutMs = get<number>('timeout');
  if (timeoutMs !== undefined) spec.timeoutMs = timeoutMs;
  const gzip = get<boolean>('gzip');
  if (gzip !== undefined) spec.gzip = gzip;
  const canaryWeight = get<number>('canary-weight');
  if (canaryWeight !== undefined) spec.canaryWeight = canaryWeight;
  return spec;
}

function buildTcp(route: RawRoute): TcpRouteSpec | RouteLabelError {
  const listen = route.values.get('listen') as number | undefined;
  if (listen === undefined) {
    return new RouteLabelError(
      C.invalidCombination,
      labelOf(route, 'listen'),
      'a tcp route needs listen=<port>',
    );
  }
  const spec: { -readonly [K in keyof TcpRouteSpec]: TcpRouteSpec[K] } = {
    kind: 'tcp',
    name: route.name,
    listen,
  };
  const port = route.values.get('port') as number | undefined;
  if (port !== undefined) spec.port = port;
  const allow = route.values.get('allow') as readonly string[] | undefined;
  if (allow !== undefined) spec.allow = allow;
  return spec;
}
