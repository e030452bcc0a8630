/**
 * The route labels both routes benchmarks give service `i` (routes.bench.ts, routes-wired.bench.ts):
 * TLS for one in five, methods for one in seven, an allow list for one in eleven, a body limit for one
 * in thirteen, and for one in three an `api` route on a shared host with its own path. Each bench adds
 * its own labels after these.
 */
export const P = 'ecs-ingress.';

export function addSharedRouteLabels(labels: Record<string, string>, i: number): void {
  if (i % 5 === 0) labels[`${P}http.tls`] = 'bundle:apps';
  if (i % 7 === 0) labels[`${P}http.methods`] = 'GET POST';
  if (i % 11 === 0) labels[`${P}http.allow`] = '192.0.2.0/24 2001:db8::/32';
  if (i % 13 === 0) labels[`${P}http.max-body`] = '25m';
  if (i % 3 === 0) {
    labels[`${P}http.api.hosts`] = `api-${i % 30}.example.com`;
    labels[`${P}http.api.path`] = `/svc-${i}`;
  }
}
