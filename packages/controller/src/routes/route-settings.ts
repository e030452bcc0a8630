/**
 * The operator's side of routes from labels (issue 16): which hosts a service may claim
 * (`ECS_INGRESS_HOST_POLICY`), the host a service without one gets (`ECS_INGRESS_DEFAULT_DOMAIN`)
 * and the ports tcp routes may listen on (`ECS_INGRESS_TCP_PORTS`). Parsed once at start-up;
 * a malformed value is a `ConfigError` naming the variable.
 */
import { ConfigError, parseHost } from '@ecs-ingress/types';

/** One `service-glob=host-pattern,host-pattern` rule. */
export interface HostPolicyRule {
  /** Glob over the ECS service name; `*` matches any run of characters. */
  readonly service: string;
  /** `*` (any host), `*.<suffix>` (any host under the suffix) or one exact host. */
  readonly hosts: readonly string[];
}

export interface PortRange {
  readonly from: number;
  readonly to: number;
}

export interface RouteSettings {
  /** Rules in order; the first whose service glob matches decides. Absent: any host is allowed. */
  readonly hostPolicy?: readonly HostPolicyRule[];
  /** Exposed http routes without hosts get `<service>.<domain>`. */
  readonly defaultDomain?: string;
  /** Ports tcp routes may listen on; empty: no tcp route is rendered. */
  readonly tcpPorts: readonly PortRange[];
  /** `server_name`s of the user's bundle: a bundle server wins over a label (the route is shadowed). */
  readonly bundleServerNames?: ReadonlySet<string>;
}

const SERVICE_GLOB = /^[A-Za-z0-9_*-]{1,255}$/;

/**
 * `orders-*=*.orders.example.com;*=*.apps.example.com` — rules separated by `;`, host patterns by
 * `,`; spaces around separators are ignored. Empty or unset: no policy.
 */
export function parseHostPolicy(
  text: string,
  variable = 'ECS_INGRESS_HOST_POLICY',
): readonly HostPolicyRule[] {
  const rules: HostPolicyRule[] = [];
  for (const part of text.split(';').map((p) => p.trim())) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const service = eq < 0 ? '' : part.slice(0, eq).trim();
    if (!SERVICE_GLOB.test(service)) {
      throw new ConfigError(
        variable,
        `rule "${part}" must read <service-glob>=<host-pattern>[,<host-pattern>]`,
      );
    }
    const hosts = part
      .slice(eq + 1)
      .split(',')
      .map((h) => h.trim().toLowerCase());
    for (const host of hosts) {
      if (host !== '*' && !parseHost(host).ok) {
        throw new ConfigError(variable, `rule "${part}": "${host}" is not *, *.<domain> or a host name`);
      }
    }
    rules.push({ service, hosts });
  }
  return rules;
}

/** `ECS_INGRESS_DEFAULT_DOMAIN`: a host name without wildcard. */
export function parseDefaultDomain(text: string, variable = 'ECS_INGRESS_DEFAULT_DOMAIN'): string {
  const host = parseHost(text.trim());
  if (!host.ok || host.value.startsWith('*'))
    throw new ConfigError(variable, `"${text}" is not a domain name`);
  return host.value;
}

/** `ECS_INGRESS_TCP_PORTS`: `5432,6379,10000-10100` (ports 1–65535, ranges inclusive). */
export function parseTcpPorts(text: string, variable = 'ECS_INGRESS_TCP_PORTS'): readonly PortRange[] {
  const ranges: PortRange[] = [];
  for (const part of text.split(',').map((p) => p.trim())) {
    if (part === '') continue;
    const match = /^([1-9][0-9]{0,4})(?:-([1-9][0-9]{0,4}))?$/.exec(part);
    const from = Number(match?.[1]);
    const to = match?.[2] === undefined ? from : Number(match[2]);
    if (!match || from > 65_535 || to > 65_535 || to < from) {
      throw new ConfigError(variable, `"${part}" is not a port or a range such as 10000-10100`);
    }
    ranges.push({ from, to });
  }
  return ranges;
}

export function tcpPortAllowed(settings: RouteSettings, port: number): boolean {
  return settings.tcpPorts.some((range) => port >= range.from && port <= range.to);
}

function globMatches(glob: string, name: string): boolean {
  const parts = glob.split('*');
  if (parts.length === 1) return glob === name;
  const first = parts[0] ?? '';
  const last = parts[parts.length - 1] ?? '';
  if (!name.startsWith(first) || name.length < first.length + last.length || !name.endsWith(last))
    return false;
  let at = first.length;
  for (const middle of parts.slice(1, -1)) {
    const found = name.indexOf(middle, at);
    if (found < 0 || found + middle.length > name.length - last.length) return false;
    at = found + middle.length;
  }
  return true;
}

/** Does a host pattern cover the host? `*.orders.example.com` covers any host under that suffix. */
function hostPatternCovers(pattern: string, host: string): boolean {
  if (pattern === '*') return true;
  if (pattern.startsWith('*.')) return host.endsWith(pattern.slice(1)) && host.length > pattern.length - 1;
  return pattern === host;
}

/** May `service` claim `host`? Without a policy, yes; with one, the first matching rule decides. */
export function hostAllowed(settings: RouteSettings, service: string, host: string): boolean {
  if (settings.hostPolicy === undefined) return true;
  const rule = settings.hostPolicy.find((r) => globMatches(r.service, service));
  return rule?.hosts.some((pattern) => hostPatternCovers(pattern, host)) ?? false;
}

/**
 * The host `ECS_INGRESS_DEFAULT_DOMAIN` gives a service: `<service>.<domain>`, the service name
 * lowercased with `_` as `-` (ECS allows `_`, host names do not). Undefined when no domain is set or
 * the result is not a host name.
 */
export function defaultHost(settings: RouteSettings, service: string): string | undefined {
  if (settings.defaultDomain === undefined) return undefined;
  const host = parseHost(`${service.toLowerCase().replaceAll('_', '-')}.${settings.defaultDomain}`);
  return host.ok ? host.value : undefined;
}
