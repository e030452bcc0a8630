/** Server lists of upstreams: sorted by address and port, one server per address:port. */

import type { Endpoint, TaskSnapshot, Upstream } from '@ecs-ingress/types';
import { ipv4ToNumber } from '@ecs-ingress/types';
import type { Admission } from './admit-task.js';

/** One task's verdict, with the server sort key: numeric IPv4 × 65,536 + port (exact below 2^53). */
export interface Verdict {
  readonly task: TaskSnapshot;
  readonly admission: Admission;
  readonly sortKey: number;
}

/** The sort key of an endpoint: numeric IPv4 × 65,536 + port. */
export function sortKeyOf(endpoint: Endpoint | undefined): number {
  return endpoint === undefined ? 0 : ipv4ToNumber(endpoint.address) * 65_536 + endpoint.port;
}

/** The union of one name's upstreams from several clusters, and the parts it was made from. */
export interface Merged {
  readonly parts: readonly Upstream[];
  readonly upstream: Upstream;
}

export function mergeParts(name: string, parts: readonly Upstream[]): Merged {
  const list: Verdict[] = [];
  for (const part of parts) {
    for (const endpoint of part.servers) {
      list.push({
        task: undefined as unknown as TaskSnapshot,
        admission: { admitted: true, reason: 'admitted', upstream: name, endpoint },
        sortKey: sortKeyOf(endpoint),
      });
    }
  }
  return { parts, upstream: { name, servers: sortAndDedupe(list) } };
}

export function sameParts(a: readonly Upstream[], b: readonly Upstream[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Sorted by numeric address, then port, then task ARN; one server per address:port (the first in
 * that order). `list` holds admitted tasks only; the sort key is precomputed per verdict.
 */
export function sortAndDedupe(list: Verdict[]): Endpoint[] {
  if (list.length === 0) return [];
  if (list.length > 1) {
    list.sort((a, b) => {
      if (a.sortKey !== b.sortKey) return a.sortKey - b.sortKey;
      const x = (a.admission.endpoint as Endpoint).taskArn;
      const y = (b.admission.endpoint as Endpoint).taskArn;
      return x < y ? -1 : x > y ? 1 : 0;
    });
  }
  const out: Endpoint[] = [];
  let lastKey = -1;
  for (let i = 0; i < list.length; i++) {
    const item = list[i] as Verdict;
    if (item.sortKey === lastKey) continue;
    lastKey = item.sortKey;
    out.push(item.admission.endpoint as Endpoint);
  }
  return out;
}
