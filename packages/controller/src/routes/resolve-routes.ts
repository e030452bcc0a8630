/**
 * Route resolution (issue 16): every exposed service's labels + the operator's settings → the
 * route table. Pure and deterministic: services are taken in seniority order (ECS `createdAt`,
 * then name, then route name), each route either takes all its claims or none, so the result does
 * not depend on the order of the input and a newcomer can never take over an incumbent's route.
 *
 * - A prefix route `/p` claims the locations `= /p` and `/p/`; `/p/` claims `/p/`; an exact route
 *   `/p` claims `= /p`. Two claims on one host that are equal collide; the younger route loses all
 *   its hosts (state `conflict`) and is not rendered.
 * - A host's TLS is fixed by its oldest route; a younger route asking for another one is a conflict.
 * - A route with `canary-weight` does not claim: it takes that share of the owner route with the
 *   same host, match and path (NGINX `split_clients`), one canary per location.
 */

import { routeUpstreamName } from '@ecs-ingress/renderer';
import {
  ROUTE_ERROR_CODES as C,
  type HttpRouteSpec,
  type ParsedRouteLabels,
  parseRouteLabels,
  type ResolvedHost,
  type ResolvedLocation,
  type RouteReport,
  type RouteTable,
  type TlsSetting,
} from '@ecs-ingress/types';
import { resolveTcp } from './resolve-tcp.js';
import { defaultHost, hostAllowed, type RouteSettings } from './route-settings.js';

/** What resolution needs of one ECS service. */
export interface ServiceRoutesInput {
  readonly name: string;
  /**
   * ECS `createdAt`, epoch ms: the older service wins a conflict. `undefined` (not known yet:
   * DescribeServices has not answered) counts as younger than every known one, so a service whose
   * age is unknown can never take a route from one whose age is known; among unknown ones, by name.
   */
  readonly createdAt: number | undefined;
  /** Docker labels of the serving container in the newest admitted task's definition. */
  readonly labels: Readonly<Record<string, string>>;
  /** The service's upstream name (default: the service name, as `renderUpstreams` writes it). */
  readonly upstream?: string;
}

export interface Candidate {
  readonly service: string;
  readonly spec: HttpRouteSpec;
  readonly hosts: readonly string[];
  readonly upstream: string;
}

export interface HostSlot {
  readonly tls: TlsSetting;
  readonly tlsOwner: string;
  /** Claim key (`=/p` or `^/p/`) → who holds it. */
  readonly claims: Map<string, string>;
  readonly locations: Map<string, ResolvedLocation>;
}

/**
 * Parsed labels by the labels object: task definitions are immutable once seen and the store keeps
 * the same object, so a service whose definition did not change is not parsed again. The parse
 * result is immutable, so sharing it is safe.
 */
const parsedByLabels = new WeakMap<object, ParsedRouteLabels>();

function parseCached(labels: Readonly<Record<string, string>>): ParsedRouteLabels {
  let parsed = parsedByLabels.get(labels);
  if (parsed === undefined) {
    parsed = parseRouteLabels(labels);
    parsedByLabels.set(labels, parsed);
  }
  return parsed;
}

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const who = (service: string, route: string): string => `${service}/${route}`;

/** The NGINX locations a route stands for, as claim keys. */
export function claimKeys(match: 'exact' | 'prefix', path: string): readonly string[] {
  if (match === 'exact') return [`=${path}`];
  if (path.endsWith('/')) return [`^${path}`];
  return [`=${path}`, `^${path}/`];
}

const sameTls = (a: TlsSetting, b: TlsSetting): boolean =>
  a.kind === b.kind && (a.kind === 'off' || (b.kind === 'bundle' && a.name === b.name));
const tlsText = (tls: TlsSetting): string => (tls.kind === 'off' ? 'off' : `bundle:${tls.name}`);

/** Seniority: known ages ascending, then the unknown ones (youngest). */
export function byAge(a: number | undefined, b: number | undefined): number {
  if (a === b) return 0;
  if (a === undefined) return 1;
  if (b === undefined) return -1;
  return a - b;
}

/**
 * Seniority: ECS `createdAt` (unknown: the youngest), then name (then the whole input, for equal
 * names in two clusters).
 */
export function compareServices(a: ServiceRoutesInput, b: ServiceRoutesInput): number {
  return (
    byAge(a.createdAt, b.createdAt) ||
    compare(a.name, b.name) ||
    compare(JSON.stringify(a), JSON.stringify(b))
  );
}

/** The report order of the table: service, kind, route (stable: equal keys keep their order). */
export function compareReports(a: RouteReport, b: RouteReport): number {
  return compare(a.service, b.service) || compare(a.kind, b.kind) || compare(a.route, b.route);
}

/** What one service brings to resolution, before any claim: depends on it and the settings only. */
export interface ServiceCandidates {
  readonly parsed: ParsedRouteLabels;
  /** Invalid routes and http routes refused before claiming, in resolution order. */
  readonly reports: readonly RouteReport[];
  readonly owners: readonly Candidate[];
  readonly canaries: readonly Candidate[];
}

/** `undefined` when the service exposes nothing (no `http.*` / `tcp.*` key). */
export function serviceCandidates(
  service: ServiceRoutesInput,
  settings: RouteSettings,
): ServiceCandidates | undefined {
  const parsed = parseCached(service.labels);
  if (!parsed.exposed) return undefined;
  const reports: RouteReport[] = [];
  const owners: Candidate[] = [];
  const canaries: Candidate[] = [];
  for (const bad of parsed.invalid) {
    reports.push({
      kind: bad.kind,
      service: service.name,
      route: bad.name,
      state: 'invalid',
      code: bad.errors[0]?.code ?? C.unknownKey,
      reason: bad.errors.map((e) => e.message).join('; '),
    });
  }
  for (const spec of parsed.http) {
    const candidate = checkHttp(service, spec, settings);
    if ('state' in candidate) reports.push(candidate);
    else (spec.canaryWeight === undefined ? owners : canaries).push(candidate);
  }
  return { parsed, reports, owners, canaries };
}

/** A claimed host slot as the table's host (locations in NGINX order). */
export function hostOfSlot(host: string, slot: HostSlot): ResolvedHost {
  return { host, tls: slot.tls, locations: [...slot.locations.values()].sort(locationOrder) };
}

/**
 * The table from scratch. The running controller uses `createRouteResolver` (route-resolver.ts),
 * which gives the same table while resolving again only the hosts a change can reach.
 */
export function resolveRoutes(services: readonly ServiceRoutesInput[], settings: RouteSettings): RouteTable {
  const ordered = [...services]
    .sort(compareServices)
    .map((input) => ({ input, found: serviceCandidates(input, settings) }));
  const reports: RouteReport[] = [];
  for (const { found } of ordered) if (found !== undefined) reports.push(...found.reports);
  const tcp = resolveTcp(ordered, settings);
  reports.push(...tcp.reports);
  const slots = new Map<string, HostSlot>();
  for (const { found } of ordered)
    for (const candidate of found?.owners ?? []) reports.push(claim(candidate, slots, settings));
  for (const { found } of ordered)
    for (const candidate of found?.canaries ?? []) reports.push(attachCanary(candidate, slots));

  const hosts: ResolvedHost[] = [...slots.keys()]
    .sort(compare)
    .map((host) => reuseHost(hostOfSlot(host, slots.get(host)!)))
    .filter((host) => host.locations.length > 0);
  return { hosts, tcp: tcp.tcp, reports: reports.sort(compareReports) };
}

/**
 * The last result per host name: a host whose routes did not change is returned as the same object,
 * so the renderer can reuse the text it rendered for it (it caches by object identity). Only a memo:
 * the output is equal either way.
 */
const previousHosts = new Map<string, ResolvedHost>();

function sameLocation(a: ResolvedLocation, b: ResolvedLocation): boolean {
  return (
    a.spec === b.spec &&
    a.service === b.service &&
    a.upstream === b.upstream &&
    a.canary?.service === b.canary?.service &&
    a.canary?.route === b.canary?.route &&
    a.canary?.upstream === b.canary?.upstream &&
    a.canary?.weight === b.canary?.weight
  );
}

/** True when two resolved hosts render the same text (their routes are the same objects). */
export function sameHost(a: ResolvedHost, b: ResolvedHost): boolean {
  return (
    a.host === b.host &&
    sameTls(a.tls, b.tls) &&
    a.locations.length === b.locations.length &&
    a.locations.every((location, i) => sameLocation(location, b.locations[i]!))
  );
}

function reuseHost(host: ResolvedHost): ResolvedHost {
  const previous = previousHosts.get(host.host);
  if (previous !== undefined && sameHost(previous, host)) return previous;
  // Bounded: a cluster's hosts, plus what a test that resolves many tables leaves behind.
  if (previousHosts.size > 100_000) previousHosts.clear();
  previousHosts.set(host.host, host);
  return host;
}

/** Exact locations first (by path), then prefixes, longest first — the order NGINX itself decides by. */
function locationOrder(a: ResolvedLocation, b: ResolvedLocation): number {
  if (a.match !== b.match) return a.match === 'exact' ? -1 : 1;
  return b.path.length - a.path.length || compare(a.path, b.path);
}

function checkHttp(
  service: ServiceRoutesInput,
  spec: HttpRouteSpec,
  settings: RouteSettings,
): Candidate | RouteReport {
  const base = { kind: 'http' as const, service: service.name, route: spec.name };
  const upstream = routeUpstreamName(service.upstream ?? service.name, spec.port);
  if (upstream === undefined) {
    return {
      ...base,
      state: 'invalid',
      code: C.invalidUpstream,
      reason: 'the upstream name cannot be written into NGINX',
    };
  }
  const fallback = defaultHost(settings, service.name);
  const hosts = spec.hosts.length > 0 ? spec.hosts : fallback === undefined ? [] : [fallback];
  if (hosts.length === 0) {
    return {
      ...base,
      state: 'invalid',
      code: C.noHost,
      reason: 'no hosts label and no usable ECS_INGRESS_DEFAULT_DOMAIN',
    };
  }
  const refused = hosts.filter((host) => !hostAllowed(settings, service.name, host));
  if (refused.length > 0) {
    return {
      ...base,
      state: 'invalid',
      code: C.hostNotAllowed,
      reason: `ECS_INGRESS_HOST_POLICY does not let this service claim ${refused.join(' ')}`,
    };
  }
  return { service: service.name, spec, hosts, upstream };
}

export function claim(
  candidate: Candidate,
  slots: Map<string, HostSlot>,
  settings: RouteSettings,
): RouteReport {
  const { service, spec } = candidate;
  const base = { kind: 'http' as const, service, route: spec.name };
  const bundleNames = settings.bundleServerNames;
  const shadowed = bundleNames === undefined ? [] : candidate.hosts.filter((host) => bundleNames.has(host));
  const hosts =
    shadowed.length === 0 ? candidate.hosts : candidate.hosts.filter((host) => !bundleNames?.has(host));
  if (hosts.length === 0) {
    return {
      ...base,
      state: 'shadowed',
      code: C.shadowed,
      reason: `the bundle has a server_name ${shadowed.join(' ')}`,
    };
  }
  const keys = claimKeys(spec.match, spec.path);
  for (const host of hosts) {
    const slot = slots.get(host);
    if (slot === undefined) continue;
    if (!sameTls(slot.tls, spec.tls)) {
      return {
        ...base,
        state: 'conflict',
        code: C.conflict,
        reason: `host ${host} has tls=${tlsText(slot.tls)} from ${slot.tlsOwner} (older)`,
      };
    }
    const holder = keys.map((key) => slot.claims.get(key)).find((h) => h !== undefined);
    if (holder !== undefined) {
      return {
        ...base,
        state: 'conflict',
        code: C.conflict,
        reason: `${spec.match} ${spec.path} on ${host} is held by ${holder} (older)`,
      };
    }
  }
  const owner = who(service, spec.name);
  for (const host of hosts) {
    let slot = slots.get(host);
    if (slot === undefined) {
      slot = { tls: spec.tls, tlsOwner: owner, claims: new Map(), locations: new Map() };
      slots.set(host, slot);
    }
    for (const key of keys) slot.claims.set(key, owner);
    slot.locations.set(`${spec.match} ${spec.path}`, {
      match: spec.match,
      path: spec.path,
      service,
      route: spec.name,
      upstream: candidate.upstream,
      spec,
    });
  }
  const note =
    shadowed.length > 0
      ? { code: C.shadowed, reason: `rendered; shadowed by the bundle on ${shadowed.join(' ')}` }
      : { reason: 'rendered' };
  return { ...base, state: 'active', hosts, ...note };
}

export function attachCanary(candidate: Candidate, slots: Map<string, HostSlot>): RouteReport {
  const { service, spec } = candidate;
  const base = { kind: 'http' as const, service, route: spec.name };
  const targets: [HostSlot, ResolvedLocation][] = [];
  for (const host of candidate.hosts) {
    const slot = slots.get(host);
    const owner = slot?.locations.get(`${spec.match} ${spec.path}`);
    if (slot === undefined || owner === undefined || owner.service === service) {
      return {
        ...base,
        state: 'invalid',
        code: C.canaryWithoutOwner,
        reason: `no route of another service owns ${spec.match} ${spec.path} on ${host}`,
      };
    }
    if (owner.spec.stripPrefix || owner.spec.rewritePrefix !== undefined) {
      return {
        ...base,
        state: 'invalid',
        code: C.canaryUnsupported,
        reason: `the owner ${who(owner.service, owner.route)} strips or rewrites the path; a canary there is not supported`,
      };
    }
    if (owner.canary !== undefined) {
      return {
        ...base,
        state: 'conflict',
        code: C.conflict,
        reason: `${spec.match} ${spec.path} on ${host} already has the canary ${who(owner.canary.service, owner.canary.route)} (older)`,
      };
    }
    targets.push([slot, owner]);
  }
  for (const [slot, owner] of targets) {
    const canary = {
      service,
      route: spec.name,
      upstream: candidate.upstream,
      weight: spec.canaryWeight ?? 0,
    };
    slot.locations.set(`${owner.match} ${owner.path}`, { ...owner, canary });
  }
  const weight = spec.canaryWeight ?? 0;
  return {
    ...base,
    state: 'active',
    hosts: candidate.hosts,
    // One owner route usually spans several hosts: name each owner once.
    reason: `canary: ${weight}% of ${[...new Set(targets.map(([, o]) => who(o.service, o.route)))].join(' ')}`,
  };
}
