/**
 * What routes from labels (issue 16) need of one service, derived with its upstreams:
 *
 * - the labels that count: the docker labels of the serving container (the one `selectPort`
 *   picks, as for the upstream) in the task definition of the service's NEWEST ADMITTED task —
 *   newest by the task's ECS `createdAt`, then the task definition revision, then the task ARN, so
 *   every daemon picks the same one in any event order. A deploy (or a rollback, which is a new
 *   deployment of an older revision) switches the labels once its first task is admitted, and a
 *   service whose tasks are all gone keeps no routes (its upstream stays, with the DOWN server);
 * - one upstream `<service>.port-<n>` per container port `n` that a valid route of those labels
 *   names (`ecs-ingress.http.<r>.port=<n>`), with the same admitted tasks at that port.
 *
 * Pure; the labels object is the task definition's own, so it keeps its identity while the task
 * definition does (the controller's route memo and the label parse cache key on it).
 */
import type { Endpoint, ParsedRouteLabels, TaskDefinitionView, Upstream } from '@ecs-ingress/types';
import { parseRouteLabels } from '@ecs-ingress/types';
import { type Lookups, resolveEndpoint } from './admit-task.js';
import type { PortSelection } from './select-port.js';
import { sortAndDedupe, sortKeyOf, type Verdict } from './servers.js';

/** One service's route input, for the controller's resolution. */
export interface ServiceRouteSource {
  readonly service: string;
  readonly clusterArn: string;
  /** Docker labels of the serving container in the newest admitted task's definition. */
  readonly labels: Readonly<Record<string, string>>;
  /** That task definition (diagnostics). */
  readonly taskDefinitionArn: string;
  /**
   * The service's ECS `createdAt` (epoch ms), once DescribeServices told it; route seniority.
   * `undefined` while unknown: the service then counts as the youngest (it cannot win a conflict).
   */
  readonly createdAt?: number;
}

const ROUTE_KEY = /^ecs-ingress\.(?:http|tcp)\./;

/** True when the labels hold at least one route key (`ecs-ingress.http.*` / `ecs-ingress.tcp.*`). */
export function hasRouteLabels(labels: Readonly<Record<string, string>>): boolean {
  for (const key in labels) if (ROUTE_KEY.test(key)) return true;
  return false;
}

/**
 * The upstream of a route with `port=<n>`. The renderer's `routeUpstreamName` writes the same
 * name (and checks it); ECS service names have no dot, so it is never another service's name.
 */
export function portUpstreamName(service: string, port: number): string {
  return `${service}.port-${port}`;
}

const parsed = new WeakMap<object, ParsedRouteLabels>();

function parseCached(labels: Readonly<Record<string, string>>): ParsedRouteLabels {
  let result = parsed.get(labels);
  if (result === undefined) {
    result = parseRouteLabels(labels);
    parsed.set(labels, result);
  }
  return result;
}

/** The container ports the valid routes of `labels` name, ascending. */
function routePorts(labels: Readonly<Record<string, string>>): number[] {
  const result = parseCached(labels);
  const ports = new Set<number>();
  for (const spec of result.http) if (spec.port !== undefined) ports.add(spec.port);
  for (const spec of result.tcp) if (spec.port !== undefined) ports.add(spec.port);
  return [...ports].sort((a, b) => a - b);
}

interface Newest {
  readonly verdict: Verdict;
  readonly taskDefinition: TaskDefinitionView;
  readonly selection: PortSelection;
}

function newer(a: Newest, b: Newest): boolean {
  const ca = a.verdict.task.createdAt ?? Number.NEGATIVE_INFINITY;
  const cb = b.verdict.task.createdAt ?? Number.NEGATIVE_INFINITY;
  if (ca !== cb) return ca > cb;
  const ra = a.taskDefinition.revision;
  const rb = b.taskDefinition.revision;
  if (ra !== rb) return ra > rb;
  return a.verdict.task.taskArn > b.verdict.task.taskArn;
}

function newestAdmitted(verdicts: readonly Verdict[], lookups: Lookups): Newest | undefined {
  let best: Newest | undefined;
  for (const verdict of verdicts) {
    if (!verdict.admission.admitted) continue;
    const taskDefinition = lookups.taskDefinition(verdict.task.taskDefinitionArn);
    if (taskDefinition === undefined) continue;
    const selection = lookups.selection(taskDefinition);
    if (!selection.ok) continue;
    const candidate = { verdict, taskDefinition, selection };
    if (best === undefined || newer(candidate, best)) best = candidate;
  }
  return best;
}

/** The admitted tasks' endpoints at container port `port` of their serving container. */
function portUpstream(name: string, port: number, verdicts: readonly Verdict[], lookups: Lookups): Upstream {
  const list: Verdict[] = [];
  for (const verdict of verdicts) {
    if (!verdict.admission.admitted) continue;
    const taskDefinition = lookups.taskDefinition(verdict.task.taskDefinitionArn);
    if (taskDefinition === undefined) continue;
    const selection = lookups.selection(taskDefinition);
    if (!selection.ok) continue;
    const mapping = selection.container.portMappings.find(
      (m) => m.containerPort === port && (m.protocol === '' || m.protocol.toLowerCase() === 'tcp'),
    );
    const atPort: PortSelection = {
      ok: true,
      container: selection.container,
      containerPort: port,
      hasHealthCheck: selection.hasHealthCheck,
      ...(mapping === undefined ? {} : { mapping }),
    };
    const resolved = resolveEndpoint(verdict.task, taskDefinition, atPort, lookups);
    if (typeof resolved === 'string' || 'reason' in resolved) continue;
    const endpoint: Endpoint = resolved;
    list.push({
      task: verdict.task,
      admission: { admitted: true, reason: 'admitted', upstream: name, endpoint },
      sortKey: sortKeyOf(endpoint),
    });
  }
  return { name, servers: sortAndDedupe(list) };
}

export interface ServiceRoutes {
  readonly source: ServiceRouteSource;
  /** `<service>.port-<n>` upstreams, by port. */
  readonly upstreams: readonly Upstream[];
}

/** The route input and port upstreams of one service; `undefined` when it publishes no route. */
export function deriveServiceRoutes(
  service: string,
  clusterArn: string,
  verdicts: readonly Verdict[],
  lookups: Lookups,
  createdAt?: number,
): ServiceRoutes | undefined {
  const newest = newestAdmitted(verdicts, lookups);
  if (newest === undefined) return undefined;
  const labels = newest.selection.container.dockerLabels;
  if (!hasRouteLabels(labels)) return undefined;
  const upstreams = routePorts(labels).map((port) =>
    portUpstream(portUpstreamName(service, port), port, verdicts, lookups),
  );
  return {
    source: {
      service,
      clusterArn,
      labels,
      taskDefinitionArn: newest.taskDefinition.taskDefinitionArn,
      ...(createdAt === undefined ? {} : { createdAt }),
    },
    upstreams,
  };
}
