import { EcsIngressError } from '../errors.js';

/**
 * Stable codes of the route problems (issue 16). Alerts, `/debug/routes` and `ecs-ingress lint`
 * key on these, never on the message wording.
 */
export const ROUTE_ERROR_CODES = {
  /** A key under `ecs-ingress.http.` / `ecs-ingress.tcp.` that the grammar does not know. */
  unknownKey: 'ECS_INGRESS_ROUTE_UNKNOWN_KEY',
  /** The `<r>` part of a key is not `[a-z0-9][a-z0-9-]{0,30}`. */
  invalidName: 'ECS_INGRESS_ROUTE_INVALID_NAME',
  invalidHost: 'ECS_INGRESS_ROUTE_INVALID_HOST',
  invalidPath: 'ECS_INGRESS_ROUTE_INVALID_PATH',
  invalidMatch: 'ECS_INGRESS_ROUTE_INVALID_MATCH',
  invalidBoolean: 'ECS_INGRESS_ROUTE_INVALID_BOOLEAN',
  invalidPort: 'ECS_INGRESS_ROUTE_INVALID_PORT',
  invalidTls: 'ECS_INGRESS_ROUTE_INVALID_TLS',
  invalidMethod: 'ECS_INGRESS_ROUTE_INVALID_METHOD',
  invalidCidr: 'ECS_INGRESS_ROUTE_INVALID_CIDR',
  invalidSize: 'ECS_INGRESS_ROUTE_INVALID_SIZE',
  invalidDuration: 'ECS_INGRESS_ROUTE_INVALID_DURATION',
  invalidWeight: 'ECS_INGRESS_ROUTE_INVALID_WEIGHT',
  /** Keys that are each valid but not together (strip-prefix with rewrite-prefix, tcp without listen). */
  invalidCombination: 'ECS_INGRESS_ROUTE_INVALID_COMBINATION',
  /** Resolution: the host is outside what `ECS_INGRESS_HOST_POLICY` lets the service claim. */
  hostNotAllowed: 'ECS_INGRESS_ROUTE_HOST_NOT_ALLOWED',
  /** Resolution: an http route with no hosts and no `ECS_INGRESS_DEFAULT_DOMAIN` to give it one. */
  noHost: 'ECS_INGRESS_ROUTE_NO_HOST',
  /** Resolution: a tcp `listen` port outside `ECS_INGRESS_TCP_PORTS`. */
  tcpPortNotAllowed: 'ECS_INGRESS_ROUTE_TCP_PORT_NOT_ALLOWED',
  /** Resolution: the upstream name of the service (and port) cannot be written into NGINX. */
  invalidUpstream: 'ECS_INGRESS_ROUTE_INVALID_UPSTREAM',
  /** Resolution: a `canary-weight` route without an owner route on the same host, match and path. */
  canaryWithoutOwner: 'ECS_INGRESS_ROUTE_CANARY_WITHOUT_OWNER',
  /** Resolution: a canary on a location that strips or rewrites its prefix (see docs/routes.md). */
  canaryUnsupported: 'ECS_INGRESS_ROUTE_CANARY_UNSUPPORTED',
  /** Resolution: the (host, match, path) or the host's TLS is held by an older service. */
  conflict: 'ECS_INGRESS_ROUTE_CONFLICT',
  /** Resolution: a server in the user's bundle already has this `server_name`. */
  shadowed: 'ECS_INGRESS_ROUTE_SHADOWED',
} as const;

export type RouteErrorCode = (typeof ROUTE_ERROR_CODES)[keyof typeof ROUTE_ERROR_CODES];

/**
 * One rejected label (or route). Thrown by nothing in the daemon: the parser collects these per
 * route, and one bad route never sinks the others. Carries the label so the log line, the metric
 * and `/debug/routes` can name it.
 */
export class RouteLabelError extends EcsIngressError {
  override readonly code: RouteErrorCode;
  /** The full docker label key at fault, e.g. `ecs-ingress.http.api.hosts`. */
  readonly label: string;

  constructor(code: RouteErrorCode, label: string, message: string) {
    super(code, `${quoteForMessage(label)}: ${message}`);
    this.code = code;
    this.label = label;
  }
}

/**
 * A label key or value quoted for a log message: at most 80 characters, and every character
 * outside printable ASCII (newline, U+2028, NUL…) written as `\u{…}`, so a hostile label can
 * neither forge a log line nor hide what it contains.
 */
export function quoteForMessage(text: string): string {
  const clipped = text.length > 80 ? `${text.slice(0, 80)}…` : text;
  let out = '';
  for (const ch of clipped) {
    const cp = ch.codePointAt(0) ?? 0;
    out +=
      (cp >= 0x20 && cp < 0x7f && ch !== '"' && ch !== '\\') || ch === '…' ? ch : `\\u{${cp.toString(16)}}`;
  }
  return `"${out}"`;
}
