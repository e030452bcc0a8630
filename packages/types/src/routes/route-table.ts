/**
 * The resolved route table: what the controller's pure resolution produces from every service's
 * labels and the operator's settings, and what the renderer turns into the http and stream route
 * files. Only typed values; nothing here holds text that was not produced by a grammar.
 */
import type { RouteErrorCode } from './errors.js';
import type { HttpRouteSpec, RouteKind } from './label-grammar.js';
import type { PathMatch, TlsSetting } from './values.js';

/**
 * `active`: rendered. `shadowed`: a server in the user's bundle has the host. `conflict`: an older
 * service holds the (host, match, path) or the host's TLS. `invalid`: a label, the host policy,
 * the allowed tcp ports or the upstream name rejected it.
 */
export type RouteState = 'active' | 'shadowed' | 'conflict' | 'invalid';

/** A second service's share of a location (NGINX `split_clients` on `$request_id`). */
export interface CanarySplit {
  readonly service: string;
  readonly route: string;
  readonly upstream: string;
  /** 1–99 percent of the location's requests. */
  readonly weight: number;
}

/** One route on one host. */
export interface ResolvedLocation {
  readonly match: PathMatch;
  readonly path: string;
  /** The owner. */
  readonly service: string;
  readonly route: string;
  /** The upstream the owner's traffic goes to. */
  readonly upstream: string;
  /** The owner's settings (strip/rewrite, methods, allow, limits…). */
  readonly spec: HttpRouteSpec;
  readonly canary?: CanarySplit;
}

/** One `server_name`: its TLS and its locations (exact first, then longest prefix first). */
export interface ResolvedHost {
  readonly host: string;
  /** Fixed by the oldest route on the host; a route asking for another one is a conflict. */
  readonly tls: TlsSetting;
  readonly locations: readonly ResolvedLocation[];
}

export interface ResolvedTcpRoute {
  readonly listen: number;
  readonly service: string;
  readonly route: string;
  readonly upstream: string;
  readonly allow?: readonly string[];
}

/** What `/debug/routes` and `lint` show for every route, rendered or not. */
export interface RouteReport {
  readonly kind: RouteKind;
  readonly service: string;
  readonly route: string;
  readonly state: RouteState;
  /** Set for every state but `active` (and for an active route that lost some hosts). */
  readonly code?: RouteErrorCode;
  /** One line, for people. */
  readonly reason: string;
  /** http: the hosts the route is rendered on. */
  readonly hosts?: readonly string[];
  /** tcp: the listen port. */
  readonly listen?: number;
}

export interface RouteTable {
  /** By host name (code-point order). */
  readonly hosts: readonly ResolvedHost[];
  /** By listen port. */
  readonly tcp: readonly ResolvedTcpRoute[];
  /** Every route of every exposed service, by service, kind, route. */
  readonly reports: readonly RouteReport[];
}
