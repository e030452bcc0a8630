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
  type ServiceCandidates,
  type ServiceRoutesInput,
  sameHost,
  serviceCandidates,
} from './resolve-routes.js';
import { resolveTcp } from './resolve-tcp.js';
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
  /** The last call's input list (a copy). */
  inputs: readonly ServiceRoutesInput[] | undefined;
  /** Service name → its place in seniority order. */
  seniority: Map<string, number>;
  /** Service name → its place in report order (code units), and its reports there. */
  place: Map<string, number>;
  groups: (readonly RouteReport[])[];
  /** Services with tcp routes (a few): their listen ports are resolved in full every time. */
  readonly tcpServices: Set<string>;
  /** Host → the candidates (owners and canaries) that name it. */
  readonly index: Map<string, Set<Candidate>>;
  readonly outcomes: Map<Candidate, RouteReport>;
  /** Host → its place in the (sorted) `table.hosts`. */
  hostPlace: Map<string, number>;
  table: RouteTable | undefined;
}

const NONE: readonly RouteReport[] = [];
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
    inputs: undefined,
    seniority: new Map(),
    place: new Map(),
    groups: [],
    tcpServices: new Set(),
    index: new Map(),
    outcomes: new Map(),
    hostPlace: new Map(),
    table: undefined,
  };
}

export function createRouteResolver(): RouteResolver {
  let memory: Memory | undefined;
  return (services, settings) => {
    const m = memory?.settings === settings ? memory : fresh(settings);
    memory = undefined; // set again only when this resolution completes
    const changed = sameNamesChanged(m, services, settings) ?? namesChanged(m, services, settings);
    if (changed === undefined) return resolveRoutes(services, settings);
    const table = update(m, changed, settings);
    m.inputs = services.slice();
    memory = m;
    return table;
  };
}

/** A changed service's new entry (none: it is gone); the old one is returned by the callers. */
function enter(
  m: Memory,
  name: string,
  input: ServiceRoutesInput | undefined,
  settings: RouteSettings,
): void {
  if (input === undefined) m.entries.delete(name);
  else m.entries.set(name, { input, found: serviceCandidates(input, settings) });
}

/**
 * The usual call: the same names at the same places as last time, few inputs changed. Finds those
 * by comparing the lists place by place (no map look-up per unchanged service); `undefined`
 * otherwise. Enters the changed services and returns their old entries.
 */
function sameNamesChanged(
  m: Memory,
  services: readonly ServiceRoutesInput[],
  settings: RouteSettings,
): Map<string, Entry | undefined> | undefined {
  const last = m.inputs;
  if (last === undefined || last.length !== services.length) return undefined;
  const changed = new Map<string, Entry | undefined>();
  for (let i = 0; i < services.length; i++) {
    const input = services[i] as ServiceRoutesInput;
    const before = last[i] as ServiceRoutesInput;
    if (input === before) continue;
    if (input.name !== before.name) return undefined;
    const entry = m.entries.get(input.name) as Entry;
    if (sameInput(entry.input, input)) continue;
    changed.set(input.name, entry);
    enter(m, input.name, input, settings);
  }
  return changed;
}

/**
 * Any other call: finds new, changed and removed services by name; enters them and returns their
 * old entries. `undefined` when a name comes twice (two clusters): `resolveRoutes` decides then.
 */
function namesChanged(
  m: Memory,
  services: readonly ServiceRoutesInput[],
  settings: RouteSettings,
): Map<string, Entry | undefined> | undefined {
  m.generation += 1;
  const changed = new Map<string, Entry | undefined>();
  for (const input of services) {
    if (m.seen.get(input.name) === m.generation) return undefined;
    m.seen.set(input.name, m.generation);
    const before = m.entries.get(input.name);
    if (before !== undefined && sameInput(before.input, input)) continue;
    changed.set(input.name, before);
    enter(m, input.name, input, settings);
  }
  // Every name given is entered now: any other entry is a service that is gone.
  if (m.entries.size > services.length) {
    for (const [name, before] of m.entries) {
      if (m.seen.get(name) === m.generation) continue;
      changed.set(name, before);
      enter(m, name, undefined, settings);
      m.seen.delete(name);
    }
  }
  return changed;
}

function update(
  m: Memory,
  changed: ReadonlyMap<string, Entry | undefined>,
  settings: RouteSettings,
): RouteTable {
  if (changed.size === 0 && m.table !== undefined) return m.table;
  // The changed services' old and new candidates leave and enter the host index; their hosts are seeds.
  const seeds = new Set<string>();
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
    m.tcpServices.delete(name);
    if (now !== undefined) {
      if ((now.found?.parsed.tcp.length ?? 0) > 0) m.tcpServices.add(name);
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
    const bySeniority = [...m.entries.values()].sort((a, b) => compareServices(a.input, b.input));
    m.seniority = new Map(bySeniority.map((entry, i) => [entry.input.name, i]));
    const names = [...m.entries.keys()].sort(compare);
    m.place = new Map(names.map((name, i) => [name, i]));
    m.groups = names.map(() => NONE);
  }

  // Claims: the candidates of the reached hosts only, in seniority order.
  const reach = componentsOf(seeds, m.index);
  const owners = new Set<Candidate>();
  const canaries = new Set<Candidate>();
  for (const host of reach) {
    for (const candidate of m.index.get(host) ?? []) {
      (candidate.spec.canaryWeight === undefined ? owners : canaries).add(candidate);
    }
  }
  // After a reorder every report group is placed anew.
  const dirty = new Set<string>(reorder ? m.entries.keys() : changed.keys());
  const slots = new Map<string, HostSlot>();
  for (const candidate of inSeniority(m, owners)) {
    m.outcomes.set(candidate, claim(candidate, slots, settings));
    dirty.add(candidate.service);
  }
  for (const candidate of inSeniority(m, canaries)) {
    m.outcomes.set(candidate, attachCanary(candidate, slots));
    dirty.add(candidate.service);
  }
  const hosts = updateHosts(m, reach, slots);

  const tcpOrdered = [...m.tcpServices]
    .sort((a, b) => (m.seniority.get(a) as number) - (m.seniority.get(b) as number))
    .map((name) => m.entries.get(name) as Entry);
  const tcp = resolveTcp(tcpOrdered, settings);
  const tcpReports = new Map<string, RouteReport[]>();
  for (const report of tcp.reports) {
    const list = tcpReports.get(report.service);
    if (list === undefined) tcpReports.set(report.service, [report]);
    else list.push(report);
  }
  for (const name of m.tcpServices) dirty.add(name);

  const groups = m.groups.slice();
  for (const name of dirty) {
    const found = m.entries.get(name)?.found;
    const place = m.place.get(name);
    if (place === undefined) continue; // removed: its place went with the reorder
    if (found === undefined) {
      groups[place] = NONE;
      continue;
    }
    const group = [...found.reports, ...(tcpReports.get(name) ?? [])];
    for (const candidate of found.owners) group.push(m.outcomes.get(candidate) as RouteReport);
    for (const candidate of found.canaries) group.push(m.outcomes.get(candidate) as RouteReport);
    groups[place] = group.sort(compareReports);
  }
  m.groups = groups;
  m.table = { hosts, tcp: tcp.tcp, reports: ([] as RouteReport[]).concat(...groups) };
  return m.table;
}

/** The candidates in seniority order: their services' order, then their order within the service. */
function inSeniority(m: Memory, candidates: ReadonlySet<Candidate>): Candidate[] {
  const keyed: { candidate: Candidate; service: number; place: number }[] = [];
  for (const candidate of candidates) {
    const found = m.entries.get(candidate.service)?.found;
    const owners = found?.owners ?? [];
    const i = owners.indexOf(candidate);
    keyed.push({
      candidate,
      service: m.seniority.get(candidate.service) as number,
      place: i >= 0 ? i : owners.length + (found?.canaries.indexOf(candidate) ?? 0),
    });
  }
  keyed.sort((a, b) => a.service - b.service || a.place - b.place);
  return keyed.map((k) => k.candidate);
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

/**
 * The table's hosts with those of the reached components replaced; the others keep their objects.
 * A copy: the last table stays as it was (the renderer holds it).
 */
function updateHosts(
  m: Memory,
  reach: ReadonlySet<string>,
  slots: ReadonlyMap<string, HostSlot>,
): ResolvedHost[] {
  const hosts = (m.table?.hosts ?? []).slice();
  const gone = new Set<string>();
  const added: ResolvedHost[] = [];
  for (const name of reach) {
    const place = m.hostPlace.get(name);
    const before = place === undefined ? undefined : hosts[place];
    const slot = slots.get(name);
    if (slot === undefined || slot.locations.size === 0) {
      if (place !== undefined) gone.add(name);
      continue;
    }
    const host = hostOfSlot(name, slot);
    if (before !== undefined && sameHost(before, host)) continue;
    if (place === undefined) added.push(host);
    else hosts[place] = host;
  }
  if (gone.size === 0 && added.length === 0) return hosts;
  const all = hosts.filter((host) => !gone.has(host.host)).concat(added);
  all.sort((a, b) => compare(a.host, b.host));
  m.hostPlace = new Map(all.map((host, i) => [host.host, i]));
  return all;
}
