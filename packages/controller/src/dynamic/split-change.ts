import type { Upstream } from '@ecs-ingress/types';

/** How the reconciler must apply a change in dynamic upstream mode. */
export interface ChangeClassification {
  /**
   * True when the set of services differs from the previous one (or there is no previous one):
   * the upstream blocks and the Lua `init(names)` list must be re-rendered, so NGINX reloads.
   */
  readonly structural: boolean;
  /**
   * When not structural: the services whose endpoints changed, each with its FULL new list
   * (`"a.b.c.d:port"`, sorted, de-duplicated), ready for `DynamicControlClient.pushEndpoints`.
   * Empty when nothing changed. Always empty when structural (the caller pushes the full set
   * after the reload; see `endpointSets`).
   */
  readonly endpointOnly: Record<string, string[]>;
}

/** The endpoints of one upstream as the control endpoint takes them: sorted, no duplicates. */
export function endpointList(upstream: Upstream): string[] {
  return [...new Set(upstream.servers.map((server) => `${server.address}:${server.port}`))].sort();
}

/** Every upstream's full endpoint list (what to push after NGINX (re)starts or reloads). */
export function endpointSets(upstreams: readonly Upstream[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const upstream of upstreams) out[upstream.name] = endpointList(upstream);
  return out;
}

/**
 * Splits a change of the derived upstreams into structural (reload) or endpoint-only (push).
 * Names are compared exactly as given; they must be the names the renderer wrote into the upstream
 * blocks (ECS service names already satisfy its rules). Endpoint order and duplicates carry no
 * meaning and never count as a change. A repeated name in either list counts as structural, so the
 * renderer, which owns the handling of such names, decides.
 */
export function classifyChange(
  prev: readonly Upstream[] | undefined,
  next: readonly Upstream[],
): ChangeClassification {
  if (prev === undefined) return { structural: true, endpointOnly: {} };
  const before = byName(prev);
  const after = byName(next);
  if (before === undefined || after === undefined || before.size !== after.size) {
    return { structural: true, endpointOnly: {} };
  }
  for (const name of after.keys()) {
    if (!before.has(name)) return { structural: true, endpointOnly: {} };
  }
  const endpointOnly: Record<string, string[]> = {};
  for (const [name, list] of after) {
    const old = before.get(name) ?? [];
    if (old.length !== list.length || old.some((item, index) => item !== list[index])) {
      endpointOnly[name] = list;
    }
  }
  return { structural: false, endpointOnly };
}

/** Name → sorted endpoint list, or undefined when a name repeats. */
function byName(upstreams: readonly Upstream[]): Map<string, string[]> | undefined {
  const map = new Map<string, string[]>();
  for (const upstream of upstreams) {
    if (map.has(upstream.name)) return undefined;
    map.set(upstream.name, endpointList(upstream));
  }
  return map;
}
