/**
 * Which container's docker labels declare a service's routes — as the daemon reads them
 * (store/route-sources.ts): the serving container that `selectPort` picks (`ecs-ingress.container`,
 * else the first container with a TCP port). When none can be picked the daemon publishes no route;
 * `lint` still parses the first container that carries route labels, and reports why.
 */
import { hasRouteLabels, selectPort } from '@ecs-ingress/store';
import type { TaskDefinitionView } from '@ecs-ingress/types';

export interface ServingLabels {
  readonly labels: Readonly<Record<string, string>>;
  /** Other containers that carry route labels: those labels are not read. */
  readonly ignoredContainers: readonly string[];
  /** Set when route labels exist but no serving container can be picked (the daemon ignores them). */
  readonly problem?: string;
}

export function routeLabelsOf(td: TaskDefinitionView): ServingLabels {
  const selection = selectPort(td);
  const serving = selection.ok
    ? selection.container
    : td.containers.find((c) => hasRouteLabels(c.dockerLabels));
  const ignoredContainers = td.containers
    .filter((c) => c !== serving && hasRouteLabels(c.dockerLabels))
    .map((c) => c.name);
  const labels = serving?.dockerLabels ?? {};
  if (selection.ok || serving === undefined) return { labels, ignoredContainers };
  return {
    labels,
    ignoredContainers,
    problem: `no serving container (${selection.detail}): the daemon publishes none of these routes`,
  };
}
