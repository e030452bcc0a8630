/**
 * The endpoint sets of a dynamic-mode render, per service (issue 15): what goes to the Lua control
 * endpoint, and their hash. A task change touches one service; the derivation hands back the same
 * `Upstream` object for every other one, so with a memo only the upstreams that are new objects are
 * normalised, sorted and hashed again, like the reload-mode `createUpstreamsRenderer`. The result is
 * the same as without memo (dynamic-endpoints.test.ts checks it over random change sequences).
 */
import { hash } from 'node:crypto';
import { normalizeUpstreams, sameUpstreamNames, serverList } from '@ecs-ingress/renderer';
import type { Logger, Upstream } from '@ecs-ingress/types';

/** One rendered service's endpoints as pushed, and a digest of them. */
interface ServiceEndpoints {
  readonly name: string;
  /** `"ip:port"`, sorted, distinct (frozen: shared between renders). */
  readonly list: readonly string[];
  /** SHA-256 of `[name, list]` as JSON: the endpoints hash is a hash of these, in name order. */
  readonly digest: string;
  /** Server-level skip reasons (logged at every render, as the normalisation does). */
  readonly skips: readonly string[];
}

/** The endpoint sets of one render. */
export interface EndpointSets {
  /** The rendered services, sorted by name in code-point order (the same array while they stay). */
  readonly names: readonly string[];
  /** Endpoints per rendered service; services with none map to `[]`. */
  readonly endpoints: Record<string, string[]>;
  /** Stable across key order; moves when any service's list moves. */
  readonly hash: string;
  /** Endpoints over every rendered service. */
  readonly serverCount: number;
}

/** What `endpointSetsOf` remembers: the last input, position by position, when it mapped one to one. */
export interface EndpointsMemo {
  last?: {
    readonly upstreams: readonly Upstream[];
    readonly names: readonly string[];
    readonly entries: readonly ServiceEndpoints[];
  };
}

function entryOf(name: string, servers: readonly string[], skips: readonly string[]): ServiceEndpoints {
  const list = Object.freeze([...servers].sort());
  return { name, list, digest: hash('sha256', JSON.stringify([name, list]), 'base64'), skips };
}

/** Hash of the digests, in the order given (the rendered order: names sorted). */
function hashOf(entries: readonly ServiceEndpoints[]): string {
  return hash('sha256', entries.map((entry) => entry.digest).join('\n'), 'hex');
}

/**
 * Pure but for `memo`: the endpoint sets of the upstreams the renderer accepts (see
 * `normalizeUpstreams`; its warnings go to `logger` at every call, as before the memo).
 */
export function endpointSetsOf(
  upstreams: readonly Upstream[],
  options: { readonly logger?: Logger } = {},
  memo: EndpointsMemo = {},
): EndpointSets {
  const previous = memo.last;
  let names: readonly string[];
  let entries: ServiceEndpoints[];
  if (previous !== undefined && sameUpstreamNames(previous.upstreams, upstreams)) {
    names = previous.names;
    entries = previous.entries.slice();
    for (let i = 0; i < upstreams.length; i++) {
      const upstream = upstreams[i] as Upstream;
      if (upstream === previous.upstreams[i]) continue;
      const list = serverList(upstream);
      entries[i] = entryOf(upstream.name, list.texts, list.skips);
    }
    for (const entry of entries) {
      for (const reason of entry.skips) {
        options.logger?.warn({ upstream: entry.name, reason }, 'upstream or server skipped by the renderer');
      }
    }
  } else {
    const logOptions = options.logger === undefined ? {} : { logger: options.logger };
    const normalized = normalizeUpstreams(upstreams, logOptions).upstreams;
    names = normalized.map((upstream) => upstream.name);
    const oneToOne = isOneToOne(upstreams, names);
    entries = normalized.map((upstream, i) =>
      entryOf(upstream.name, upstream.servers, oneToOne ? serverList(upstreams[i] as Upstream).skips : []),
    );
    if (!oneToOne) {
      delete memo.last;
      return setsOf(names, entries);
    }
  }
  memo.last = { upstreams, names, entries };
  return setsOf(names, entries);
}

function setsOf(names: readonly string[], entries: readonly ServiceEndpoints[]): EndpointSets {
  let serverCount = 0;
  for (const entry of entries) serverCount += entry.list.length;
  return { names, endpoints: recordOf(entries), hash: hashOf(entries), serverCount };
}

function recordOf(entries: readonly ServiceEndpoints[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  // The lists are frozen: a caller that mutates one throws instead of corrupting the next render.
  for (const entry of entries) out[entry.name] = entry.list as string[];
  return out;
}

/**
 * True when every input upstream was rendered as itself, in input order: names strictly increasing
 * (so none repeats), none skipped. Then position `i` of a later input with the same names is the
 * same rendered service, and only its own servers can have changed.
 */
function isOneToOne(upstreams: readonly Upstream[], names: readonly string[]): boolean {
  if (names.length !== upstreams.length) return false;
  for (let i = 0; i < names.length; i++) {
    if ((upstreams[i] as Upstream).name !== names[i]) return false;
    if (i > 0 && !((names[i - 1] as string) < (names[i] as string))) return false;
  }
  return true;
}
