/**
 * The tcp routes of issue 16 (`ecs-ingress.tcp.<r>.*`): a listen port goes to the oldest service
 * that asks for it; only ports the operator allows (ECS_INGRESS_TCP_PORTS) are rendered.
 */
import { routeUpstreamName } from '@ecs-ingress/renderer';
import { ROUTE_ERROR_CODES as C, type ResolvedTcpRoute, type RouteReport } from '@ecs-ingress/types';
import type { ServiceCandidates, ServiceRoutesInput } from './resolve-routes.js';
import { type RouteSettings, tcpPortAllowed } from './route-settings.js';

const who = (service: string, route: string): string => `${service}/${route}`;

/** The tcp routes of the services, taken in seniority order (a listen port goes to the oldest). */
export function resolveTcp(
  ordered: readonly { readonly input: ServiceRoutesInput; readonly found: ServiceCandidates | undefined }[],
  settings: RouteSettings,
): { tcp: ResolvedTcpRoute[]; reports: RouteReport[] } {
  const reports: RouteReport[] = [];
  const tcp: ResolvedTcpRoute[] = [];
  const listens = new Map<number, string>();
  for (const { input: service, found } of ordered) {
    for (const spec of found?.parsed.tcp ?? []) {
      const base = { kind: 'tcp' as const, service: service.name, route: spec.name, listen: spec.listen };
      const upstream = routeUpstreamName(service.upstream ?? service.name, spec.port);
      const holder = listens.get(spec.listen);
      if (upstream === undefined) {
        reports.push({
          ...base,
          state: 'invalid',
          code: C.invalidUpstream,
          reason: 'the upstream name cannot be written into NGINX',
        });
      } else if (!tcpPortAllowed(settings, spec.listen)) {
        reports.push({
          ...base,
          state: 'invalid',
          code: C.tcpPortNotAllowed,
          reason: `listen port ${spec.listen} is not in ECS_INGRESS_TCP_PORTS`,
        });
      } else if (holder !== undefined) {
        reports.push({
          ...base,
          state: 'conflict',
          code: C.conflict,
          reason: `listen port ${spec.listen} is held by ${holder} (older)`,
        });
      } else {
        listens.set(spec.listen, who(service.name, spec.name));
        tcp.push({
          listen: spec.listen,
          service: service.name,
          route: spec.name,
          upstream,
          ...(spec.allow ? { allow: spec.allow } : {}),
        });
        reports.push({ ...base, state: 'active', reason: 'rendered' });
      }
    }
  }
  return { tcp: tcp.sort((a, b) => a.listen - b.listen), reports };
}
