import type { Upstream } from '@ecs-ingress/types';
import { compareCodePoints } from './names.js';
import { type NormalizedUpstream, normalizeUpstreams } from './normalize.js';

/** How the servers of one upstream changed. */
export interface UpstreamServerChange {
  readonly name: string;
  /** `ip:port` strings now present that were not before, in render order. */
  readonly added: readonly string[];
  /** `ip:port` strings present before and gone now, in render order. */
  readonly removed: readonly string[];
}

/** What changed between two upstream sets, as the renderer would write them. */
export interface UpstreamDiff {
  /** Upstreams (services) that appear, in code-point order. */
  readonly upstreamsAdded: readonly string[];
  /** Upstreams that disappear, in code-point order. */
  readonly upstreamsRemoved: readonly string[];
  /**
   * Every upstream whose server set differs, in code-point order. An added upstream lists all its
   * servers as `added`, a removed one all as `removed` (only if it had any).
   */
  readonly servers: readonly UpstreamServerChange[];
  /**
   * An upstream appeared or disappeared: in dynamic mode this needs a reload, while server-only
   * changes of existing upstreams go to the Lua control endpoint.
   */
  readonly structural: boolean;
  /** Nothing changed. */
  readonly empty: boolean;
}

/**
 * Compares two upstream sets after the renderer's own normalisation (unsafe names and invalid
 * servers dropped, duplicates collapsed), so the diff describes exactly what the rendered files
 * change. Pure.
 */
export function diffUpstreams(before: readonly Upstream[], after: readonly Upstream[]): UpstreamDiff {
  // The runtime diffs every applied change against the last one: in a large cluster one service
  // changed and the deriver handed back the same objects for the others (issue 15). Comparing only
  // the positions that hold new objects gives the same diff when the names are the same, in the
  // same order, and distinct even ignoring case (then each name's normalisation is its own).
  if (sameDistinctNames(before, after)) {
    const changedBefore: Upstream[] = [];
    const changedAfter: Upstream[] = [];
    for (let i = 0; i < before.length; i++) {
      if (before[i] === after[i]) continue;
      changedBefore.push(before[i] as Upstream);
      changedAfter.push(after[i] as Upstream);
    }
    if (changedBefore.length < before.length) return fullDiff(changedBefore, changedAfter);
  }
  return fullDiff(before, after);
}

function fullDiff(before: readonly Upstream[], after: readonly Upstream[]): UpstreamDiff {
  const old = index(normalizeUpstreams(before).upstreams);
  const now = index(normalizeUpstreams(after).upstreams);
  const names = [...new Set([...old.keys(), ...now.keys()])].sort(compareCodePoints);

  const upstreamsAdded: string[] = [];
  const upstreamsRemoved: string[] = [];
  const servers: UpstreamServerChange[] = [];
  for (const name of names) {
    const was = old.get(name);
    const is = now.get(name);
    if (was === undefined) upstreamsAdded.push(name);
    if (is === undefined) upstreamsRemoved.push(name);
    const wasSet = new Set(was ?? []);
    const isSet = new Set(is ?? []);
    const added = (is ?? []).filter((s) => !wasSet.has(s));
    const removed = (was ?? []).filter((s) => !isSet.has(s));
    if (added.length > 0 || removed.length > 0) servers.push({ name, added, removed });
  }
  const structural = upstreamsAdded.length > 0 || upstreamsRemoved.length > 0;
  return {
    upstreamsAdded,
    upstreamsRemoved,
    servers,
    structural,
    empty: !structural && servers.length === 0,
  };
}

/**
 * One human-readable line per change, for the CLI and logs:
 * `+ upstream web`, `- upstream old`, `web + 10.0.0.5:8080`, `web - 10.0.0.4:8080`.
 * Upstream lines come first, then server lines, each group in code-point order of the name.
 */
export function describeUpstreamDiff(diff: UpstreamDiff): string[] {
  const lines: string[] = [];
  for (const name of diff.upstreamsAdded) lines.push(`+ upstream ${name}`);
  for (const name of diff.upstreamsRemoved) lines.push(`- upstream ${name}`);
  for (const change of diff.servers) {
    for (const server of change.added) lines.push(`${change.name} + ${server}`);
    for (const server of change.removed) lines.push(`${change.name} - ${server}`);
  }
  return lines;
}

/** Same length, same name at each position, names distinct ignoring case. */
function sameDistinctNames(before: readonly Upstream[], after: readonly Upstream[]): boolean {
  if (before.length !== after.length) return false;
  const lower = new Set<string>();
  for (let i = 0; i < before.length; i++) {
    const name = (before[i] as Upstream).name;
    if ((after[i] as Upstream).name !== name) return false;
    lower.add(name.toLowerCase());
  }
  return lower.size === before.length;
}

function index(upstreams: readonly NormalizedUpstream[]): Map<string, readonly string[]> {
  return new Map(upstreams.map((u) => [u.name, u.servers]));
}
