/**
 * Route resolution with memory, for the running controller: the same table as `resolveRoutes`
 * (resolve-routes.ts) from the same input, at the cost of what changed. A deploy changes one
 * service's labels; resolving all 1,000 services again for it cost most of a render.
 *
 * Why resolving a part is enough: a claim reads and writes only the slots of the candidate's own
 * hosts, and a route takes all its hosts or none. So the outcome on a host depends only on the
 * candidates of its connected component (hosts linked by candidates that span them), taken in
 * seniority order. After a change, the components that hold a host the changed services claim
 * or claimed are resolved again, in the same seniority order; every other component has the same
 * candidates as last time, and keeps its outcomes and its `ResolvedHost` objects (so the renderer
 * reuses their text). Tcp routes (a few listen ports) and the report order are redone in full.
 *
 * The memory is per service name; a list with one name twice (two clusters) and a change of the
 * settings (the bundle's shadowed hosts) resolve from scratch.
 */
import type { ResolvedHost, RouteReport, RouteTable } from '@ecs-ingress/types';
import {
  attachCanary,
  type Candidate,
  claim,
  compareReports,
  compareServices,
  type HostSlot,
  hostOfSlot,
  resolveRoutes,
  resolveTcp,
  type ServiceCandidates,
  type ServiceRoutesInput,
  sameHost,
  serviceCandidates,
} from './resolve-routes.js';
import type { RouteSettings } from './route-settings.js';

/** Resolves like `resolveRoutes`; pass the same settings object while the settings stay the same. */
export type RouteResolver = (services: readonly ServiceRoutesInput[], settings: RouteSettings) => RouteTable;

interface Entry {
  readonly input: ServiceRoutesInput;
  /** `undefined`: the service exposes nothing. */
  readonly found: ServiceCandidates | undefined;
}

interface Memory {
  readonly settings: RouteSettings;
  readonly entries: Map<string, Entry>;
  /** Service name → the call that last saw it (finds removed services and names given twice). */
  readonly seen: Map<string, number>;
  generation: number;
  /** Seniority order. */
  order: Entry[];
  /** Service names in report order (code units). */
  names: string[];
  /** Host → the candidates (owners and canaries) that name it. */
  readonly index: Map<string, Set<Candidate>>;
  readonly outcomes: Map<Candidate, RouteReport>;
  readonly hosts: Map<string, ResolvedHost>;
  /** Host names of `hosts`, sorted. */
  hostNames: string[];
  table: RouteTable | undefined;
  /** Each exposed service's reports, in table order. */
  readonly groups: Map<string, readonly RouteReport[]>;
}

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const sameInput = (a: ServiceRoutesInput, b: ServiceRoutesInput): boolean =>
  a.labels === b.labels && a.createdAt === b.createdAt && a.upstream === b.upstream;

function* candidatesOf(entry: Entry): Iterable<Candidate> {
  if (entry.found === undefined) return;
  yield* entry.found.owners;
  yield* entry.found.canaries;
}

function fresh(settings: RouteSettings): Memory {
  return {
    settings,
    entries: new Map(),
    seen: new Map(),
    generation: 0,
    order: [],
    names: [],
    index: new Map(),
    outcomes: new Map(),
    hosts: new Map(),
    hostNames: [],
    table: undefined,
    groups: new Map(),
  };
}

export function createRouteResolver(): RouteResolver {
  let memory: Memory | undefined;
  return (services, settings) => {
    const m = memory?.settings === settings ? memory : fresh(settings);
    memory = undefined; // set again only when this resolution completes
    m.generation += 1;
    // Old entries (undefined: new service) of the services that changed, found in place: a call
    // that changes one service of 1,000 allocates for that one.
    const changed = new Map<string, Entry | undefined>();
    for (const input of services) {
      if (m.seen.get(input.name) === m.generation) return resolveRoutes(services, settings);
      m.seen.set(input.name, m.generation);
      const before = m.entries.get(input.name);
      if (before !== undefined && (before.input === input || sameInput(before.input, input))) continue;
      changed.set(input.name, before);
      m.entries.set(input.name, { input, found: serviceCandidates(input, settings) });
    }
    if (m.entries.size > services.length) {
      for (const [name, before] of m.entries) {
        if (m.seen.get(name) === m.generation) continue;
        changed.set(name, before);
        m.entries.delete(name);
        m.seen.delete(name);
      }
    }
    const table = update(m, changed, settings);
    memory = m;
    return table;
  };
}

function update(
  m: Memory,
  changed: ReadonlyMap<string, Entry | undefined>,
  settings: RouteSettings,
): RouteTable {
  if (changed.size === 0 && m.table !== undefined) return m.table;
  // The changed services' old and new candidates leave and enter the host index; their hosts are seeds.
  const seeds = new Set<string>();
  const dirty = new Set<string>(changed.keys());
  let reorder = m.table === undefined;
  for (const [name, before] of changed) {
    const now = m.entries.get(name);
    if (before === undefined || now === undefined || now.input.createdAt !== before.input.createdAt)
      reorder = true;
    if (before !== undefined) {
      for (const candidate of candidatesOf(before)) {
        m.outcomes.delete(candidate);
        for (const host of candidate.hosts) {
          seeds.add(host);
          const set = m.index.get(host);
          set?.delete(candidate);
          if (set?.size === 0) m.index.delete(host);
        }
      }
    }
    if (now !== undefined) {
      for (const candidate of candidatesOf(now)) {
        for (const host of candidate.hosts) {
          seeds.add(host);
          const set = m.index.get(host);
          if (set === undefined) m.index.set(host, new Set([candidate]));
          else set.add(candidate);
        }
      }
    }
  }
  if (reorder) {
    m.order = [...m.entries.values()].sort((a, b) => compareServices(a.input, b.input));
    m.names = [...m.entries.keys()].sort(compare);
  } else {
    for (let i = 0; i < m.order.length; i++) {
      const name = (m.order[i] as Entry).input.name;
      if (changed.has(name)) m.order[i] = m.entries.get(name) as Entry;
    }
  }

  const reach = componentsOf(seeds, m.index);
  const touches = (candidate: Candidate) => candidate.hosts.some((host) => reach.has(host));
  const slots = new Map<string, HostSlot>();
  for (const { input, found } of m.order) {
    for (const candidate of found?.owners ?? []) {
      if (!touches(candidate)) continue;
      m.outcomes.set(candidate, claim(candidate, slots, settings));
      dirty.add(input.name);
    }
  }
  for (const { input, found } of m.order) {
    for (const candidate of found?.canaries ?? []) {
      if (!touches(candidate)) continue;
      m.outcomes.set(candidate, attachCanary(candidate, slots));
      dirty.add(input.name);
    }
  }
  const hosts = updateHosts(m, reach, slots);

  const tcp = resolveTcp(m.order, settings);
  const tcpReports = new Map<string, RouteReport[]>();
  for (const report of tcp.reports) {
    const list = tcpReports.get(report.service);
    if (list === undefined) tcpReports.set(report.service, [report]);
    else list.push(report);
  }
  for (const name of tcpReports.keys()) dirty.add(name);
  for (const name of dirty) {
    const found = m.entries.get(name)?.found;
    if (found === undefined) {
      m.groups.delete(name);
      continue;
    }
    const group = [...found.reports, ...(tcpReports.get(name) ?? [])];
    for (const candidate of found.owners) group.push(m.outcomes.get(candidate) as RouteReport);
    for (const candidate of found.canaries) group.push(m.outcomes.get(candidate) as RouteReport);
    m.groups.set(name, group.sort(compareReports));
  }
  const reports: RouteReport[] = [];
  for (const name of m.names) {
    const group = m.groups.get(name);
    if (group !== undefined) for (const report of group) reports.push(report);
  }
  m.table = { hosts, tcp: tcp.tcp, reports };
  return m.table;
}

/** The hosts linked to a seed through candidates that span several hosts. */
function componentsOf(seeds: ReadonlySet<string>, index: ReadonlyMap<string, Set<Candidate>>): Set<string> {
  const reach = new Set(seeds);
  const queue = [...seeds];
  for (let host = queue.pop(); host !== undefined; host = queue.pop()) {
    for (const candidate of index.get(host) ?? []) {
      for (const other of candidate.hosts) {
        if (reach.has(other)) continue;
        reach.add(other);
        queue.push(other);
      }
    }
  }
  return reach;
}

/** Replaces the resolved hosts of the reached components; the others keep their objects. */
function updateHosts(
  m: Memory,
  reach: ReadonlySet<string>,
  slots: ReadonlyMap<string, HostSlot>,
): ResolvedHost[] {
  let renamed = false;
  let changed = false;
  for (const name of reach) {
    const before = m.hosts.get(name);
    const slot = slots.get(name);
    if (slot === undefined || slot.locations.size === 0) {
      if (before !== undefined) {
        m.hosts.delete(name);
        renamed = true;
      }
      continue;
    }
    const host = hostOfSlot(name, slot);
    if (before !== undefined && sameHost(before, host)) continue;
    m.hosts.set(name, host);
    changed = true;
    if (before === undefined) renamed = true;
  }
  if (renamed) m.hostNames = [...m.hosts.keys()].sort(compare);
  if (!renamed && !changed && m.table !== undefined) return m.table.hosts as ResolvedHost[];
  return m.hostNames.map((name) => m.hosts.get(name) as ResolvedHost);
}
