/**
 * The store's service names (the reducer's helpers): which services keep an upstream. A name an
 * API listing gave (a snapshot's ListServices, a `services` event) is kept forever, so a user's
 * `proxy_pass` never points at a missing upstream. A name only task events gave is forgotten by a
 * listing that does not name it once no live task of the cluster names it: a forged or stray event
 * must not leave an upstream behind for good.
 */
import { emptyMap, mapDelete, mapForEach, mapGet, mapSet, type PersistentMap } from './persistent-map.js';
import { serviceNameOf, type TaskEntry } from './state.js';

/** The part of the reducer's working state these read and replace. */
export interface ServiceWork {
  tasks: PersistentMap<TaskEntry>;
  services: Readonly<Record<string, PersistentMap<string>>>;
  listedServices: Readonly<Record<string, PersistentMap<string>>>;
}

function nonEmpty(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}

/** Remembers a service name. @returns true when it is new */
export function registerService(work: ServiceWork, clusterArn: string, name: string): boolean {
  const known = work.services[clusterArn] ?? emptyMap<string>();
  if (mapGet(known, name) !== undefined) return false;
  // A new object per new service (rare: once per service), so the old state keeps its record.
  work.services = { ...work.services, [clusterArn]: mapSet(known, name, name) };
  return true;
}

/** Names an API listing gave: known, and marked listed (kept forever). @returns true when one is new */
export function registerListed(work: ServiceWork, clusterArn: string, names: readonly unknown[]): boolean {
  let added = false;
  let listed = work.listedServices[clusterArn] ?? emptyMap<string>();
  const before = listed;
  for (const name of names) {
    if (!nonEmpty(name)) continue;
    if (registerService(work, clusterArn, name)) added = true;
    if (mapGet(listed, name) === undefined) listed = mapSet(listed, name, name);
  }
  if (listed !== before) work.listedServices = { ...work.listedServices, [clusterArn]: listed };
  return added;
}

/** Forgets the cluster's services no listing named that no live task names either. */
export function forgetUnlisted(work: ServiceWork, clusterArn: string): void {
  const known = work.services[clusterArn];
  if (known === undefined) return;
  const listed = work.listedServices[clusterArn] ?? emptyMap<string>();
  const unlisted: string[] = [];
  mapForEach(known, (name) => {
    if (mapGet(listed, name) === undefined) unlisted.push(name);
  });
  if (unlisted.length === 0) return;
  const withTasks = new Set<string>();
  mapForEach(work.tasks, (entry) => {
    if (entry.task.clusterArn !== clusterArn) return;
    const service = serviceNameOf(entry.task);
    if (service !== undefined) withTasks.add(service);
  });
  let next = known;
  for (const name of unlisted) if (!withTasks.has(name)) next = mapDelete(next, name);
  if (next !== known) work.services = { ...work.services, [clusterArn]: next };
}
