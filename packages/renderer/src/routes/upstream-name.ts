import { isSafeUpstreamName } from '../names.js';

/**
 * The upstream a route proxies to. Without `port` it is the service's own upstream, exactly the
 * name `renderUpstreams` writes (the service name). A route with `port=<n>` (another container
 * port) gets `<service>.port-<n>`: ECS service names cannot contain a dot, so this name can never
 * be another service's. `undefined` when the result is not a safe upstream name (see names.ts).
 */
export function routeUpstreamName(serviceUpstream: string, port?: number): string | undefined {
  const name = port === undefined ? serviceUpstream : `${serviceUpstream}.port-${port}`;
  return isSafeUpstreamName(name) ? name : undefined;
}
