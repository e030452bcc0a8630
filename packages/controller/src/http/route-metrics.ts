/**
 * The metrics of routes from labels (issue 16), adapted from the routes renderer's hooks
 * (routes/routes-renderer.ts); registered on the daemon's registry. Labels have fixed, small value
 * sets: the four states and the stable error codes (never a service or host name).
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { RoutesHooks } from '../routes/routes-renderer.js';

const STATES = ['active', 'shadowed', 'conflict', 'invalid'] as const;

/** `ecs_ingress_routes{state}` and `ecs_ingress_route_invalid_total{code}` on `registry`. */
export function createRouteMetrics(registry: Registry): RoutesHooks {
  const registers = [registry];
  const routes = new Gauge({
    name: 'ecs_ingress_routes',
    help: 'Routes from docker labels in the latest route table, by state (active, shadowed, conflict, invalid).',
    labelNames: ['state'],
    registers,
  });
  // True from the first scrape: no route yet.
  for (const state of STATES) routes.set({ state }, 0);
  const invalid = new Counter({
    name: 'ecs_ingress_route_invalid_total',
    help: 'Routes rejected by their labels, the host policy or the allowed tcp ports, by error code (each time a route becomes invalid).',
    labelNames: ['code'],
    registers,
  });
  return {
    onTable(counts) {
      for (const state of STATES) routes.set({ state }, counts[state]);
    },
    onInvalid(code) {
      invalid.inc({ code });
    },
  };
}
