/**
 * Which container's docker labels declare a service's routes: the container that serves, as
 * `selectPort` picks it (`ecs-ingress.container`, else the first container with a TCP port). When
 * no container can be picked, the first one that carries route labels, so `lint` still checks them.
 */
import { selectPort } from '@ecs-ingress/store';
import { LABEL_PREFIX, type TaskDefinitionView } from '@ecs-ingress/types';

const hasRouteLabels = (labels: Readonly<Record<string, string>>): boolean =>
  Object.keys(labels).some(
    (key) => key.startsWith(`${LABEL_PREFIX}http.`) || key.startsWith(`${LABEL_PREFIX}tcp.`),
  );

export interface ServingLabels {
  readonly labels: Readonly<Record<string, string>>;
  /** Other containers that carry route labels: those labels are not read. */
  readonly ignoredContainers: readonly string[];
}

export function routeLabelsOf(td: TaskDefinitionView): ServingLabels {
  const selection = selectPort(td);
  const serving = selection.ok
    ? selection.container
    : td.containers.find((c) => hasRouteLabels(c.dockerLabels));
  const ignoredContainers = td.containers
    .filter((c) => c !== serving && hasRouteLabels(c.dockerLabels))
    .map((c) => c.name);
  return { labels: serving?.dockerLabels ?? {}, ignoredContainers };
}
