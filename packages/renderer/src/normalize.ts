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

  const byName = new Map<string, ServerKey[]>();
  const unsafeSeen = new Set<string>();
  for (const upstream of upstreams) {
    if (!isSafeUpstreamName(upstream.name)) {
      if (!unsafeSeen.has(upstream.name)) {
        unsafeSeen.add(upstream.name);
        skip(upstream.name, `unsafe upstream name: ${unsafeNameReason(upstream.name)}`);
      }
      continue;
    }
    let servers = byName.get(upstream.name);
    if (servers === undefined) {
      servers = [];
      byName.set(upstream.name, servers);
    }
    for (const server of upstream.servers) {
      const ip = ipv4Number(server.address);
      if (ip < 0) {
        skip(
          upstream.name,
          `invalid server address ${JSON.stringify(server.address)} (task ${server.taskArn})`,
        );
        continue;
      }
      if (!isValidPort(server.port)) {
        skip(upstream.name, `invalid server port ${String(server.port)} (task ${server.taskArn})`);
        continue;
      }
      servers.push({ key: ip * 65_536 + server.port, address: server.address, port: server.port });
    }
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
    result.push({ name, servers: sortedServerTexts(byName.get(name) ?? []) });
  }
  return { upstreams: result, skipped };
}

/** `ip:port` texts by numeric IP then port, each once. */
function sortedServerTexts(servers: ServerKey[]): string[] {
  // The derivation hands servers over sorted already; check before paying for a sort.
  for (let i = 1; i < servers.length; i++) {
    if ((servers[i - 1] as ServerKey).key > (servers[i] as ServerKey).key) {
      servers.sort((a, b) => a.key - b.key);
      break;
    }
  }
  const texts: string[] = [];
  let last = -1;
  for (let i = 0; i < servers.length; i++) {
    const server = servers[i] as ServerKey;
    if (server.key === last) continue;
    last = server.key;
    texts.push(`${server.address}:${server.port}`);
  }
  return texts;
}
