import type { Logger, Upstream } from '@ecs-ingress/types';
import { ipv4Number, isValidPort } from './addresses.js';
import { compareCodePoints, isSafeUpstreamName, unsafeNameReason } from './names.js';

/** An upstream or server the renderer left out, and why (for logs, metrics and `/debug/upstreams`). */
export interface SkippedItem {
  /** The upstream name as given (possibly unsafe: log it, never write it into a config file). */
  readonly name: string;
  readonly reason: string;
}

/** An upstream after validation: a safe name and its distinct servers in render order. */
export interface NormalizedUpstream {
  readonly name: string;
  /** `ip:port` strings, distinct, sorted by numeric IP then port. Empty = no running task. */
  readonly servers: readonly string[];
}

export interface NormalizedUpstreams {
  /** Sorted by name in code-point order; names unique even ignoring case. */
  readonly upstreams: readonly NormalizedUpstream[];
  readonly skipped: readonly SkippedItem[];
}

interface ServerKey {
  /** Numeric IPv4 × 65,536 + port: the sort order, and equal exactly when `ip:port` is equal. */
  readonly key: number;
  readonly address: string;
  readonly port: number;
}

/**
 * Validates, de-duplicates and orders upstreams: the single definition of "what gets rendered",
 * shared by the renderers and `diffUpstreams` so a diff never reports a change the file does not
 * contain. Pure; `logger` only receives one `warn` per skipped item.
 *
 * - Unsafe names are skipped (see `isSafeUpstreamName`).
 * - The same exact name given twice (e.g. one service name in two replayed clusters) is one
 *   upstream with the union of the servers.
 * - NGINX compares upstream names case-insensitively (`duplicate upstream "web"` for `Web` + `web`,
 *   which fails `nginx -t` for the whole file), so of names equal ignoring case only the first in
 *   code-point order is kept.
 * - Servers with an invalid IPv4 address or port are skipped; equal `ip:port` pairs collapse.
 */
export function normalizeUpstreams(
  upstreams: readonly Upstream[],
  options: { logger?: Logger } = {},
): NormalizedUpstreams {
  const skipped: SkippedItem[] = [];
  const skip = (name: string, reason: string): void => {
    skipped.push({ name, reason });
    options.logger?.warn({ upstream: name, reason }, 'upstream or server skipped by the renderer');
  };

  // Per name, the servers of each upstream given under it (almost always exactly one).
  const byName = new Map<string, ServerList[]>();
  const unsafeSeen = new Set<string>();
  for (const upstream of upstreams) {
    if (!isSafeUpstreamName(upstream.name)) {
      if (!unsafeSeen.has(upstream.name)) {
        unsafeSeen.add(upstream.name);
        skip(upstream.name, `unsafe upstream name: ${unsafeNameReason(upstream.name)}`);
      }
      continue;
    }
    const servers = serverList(upstream);
    for (const reason of servers.skips) skip(upstream.name, reason);
    const lists = byName.get(upstream.name);
    if (lists === undefined) byName.set(upstream.name, [servers]);
    else lists.push(servers);
  }

  const result: NormalizedUpstream[] = [];
  const keptLower = new Map<string, string>();
  for (const name of [...byName.keys()].sort(compareCodePoints)) {
    const lower = name.toLowerCase();
    const kept = keptLower.get(lower);
    if (kept !== undefined) {
      skip(
        name,
        `upstream name equals "${kept}" ignoring case, and NGINX upstream names are case-insensitive`,
      );
      continue;
    }
    keptLower.set(lower, name);
    const lists = byName.get(name) ?? [];
    const servers =
      lists.length === 1
        ? (lists[0] as ServerList).texts
        : sortedServerTexts(lists.flatMap((list) => list.keys)).texts;
    result.push({ name, servers });
  }
  return { upstreams: result, skipped };
}

/** One upstream's valid servers, sorted and distinct, and why the others were skipped. */
export interface ServerList {
  /** The `servers` array this was computed from (the cache checks it). */
  readonly source: Upstream['servers'];
  readonly length: number;
  readonly keys: readonly ServerKey[];
  readonly texts: readonly string[];
  /** Skip reasons, in server order. */
  readonly skips: readonly string[];
}

/**
 * Per `Upstream` object: the derivation hands back the same object for a service whose servers did
 * not change, so a render after a few events redoes only the changed services. Upstreams are
 * immutable values (readonly types); the cache also checks the servers array and its length.
 */
const serverLists = new WeakMap<Upstream, ServerList>();

/** One upstream's `ServerList`, cached per `Upstream` object (see above). */
export function serverList(upstream: Upstream): ServerList {
  const source = upstream.servers;
  const cached = serverLists.get(upstream);
  if (cached !== undefined && cached.source === source && cached.length === source.length) return cached;
  const keys: ServerKey[] = [];
  const skips: string[] = [];
  for (const server of source) {
    const ip = ipv4Number(server.address);
    if (ip < 0) {
      skips.push(`invalid server address ${JSON.stringify(server.address)} (task ${server.taskArn})`);
      continue;
    }
    if (!isValidPort(server.port)) {
      skips.push(`invalid server port ${String(server.port)} (task ${server.taskArn})`);
      continue;
    }
    keys.push({ key: ip * 65_536 + server.port, address: server.address, port: server.port });
  }
  const sorted = sortedServerTexts(keys);
  const list: ServerList = { source, length: source.length, ...sorted, skips };
  serverLists.set(upstream, list);
  return list;
}

/** Sorted by numeric IP then port, each `ip:port` once: the keys and their texts. */
function sortedServerTexts(servers: ServerKey[]): { keys: ServerKey[]; texts: readonly string[] } {
  // The derivation hands servers over sorted already; check before paying for a sort.
  for (let i = 1; i < servers.length; i++) {
    if ((servers[i - 1] as ServerKey).key > (servers[i] as ServerKey).key) {
      servers.sort((a, b) => a.key - b.key);
      break;
    }
  }
  const keys: ServerKey[] = [];
  const texts: string[] = [];
  let last = -1;
  for (let i = 0; i < servers.length; i++) {
    const server = servers[i] as ServerKey;
    if (server.key === last) continue;
    last = server.key;
    keys.push(server);
    texts.push(`${server.address}:${server.port}`);
  }
  // Shared by later calls through the caches: frozen, so a caller mutating it throws instead of
  // corrupting the next render (only changed lists are built, so this costs little).
  return { keys, texts: Object.freeze(texts) };
}
