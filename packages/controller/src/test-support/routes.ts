/**
 * The route resolution tests' builders: a service as `resolveRoutes` takes it, from its route labels
 * without the `ecs-ingress.` prefix, and the bytes a route table renders to (http and stream files
 * together), for comparing two tables by what NGINX would get.
 */
import { renderHttpRoutes, renderStreamRoutes } from '@ecs-ingress/renderer';
import { LABEL_PREFIX, type RouteTable } from '@ecs-ingress/types';
import type { ServiceRoutesInput } from '../routes/resolve-routes.js';

/** `svc('shop', 1, { 'http.hosts': 'shop.example.com' })`: labels are prefixed with `ecs-ingress.`. */
export function svc(
  name: string,
  createdAt: number | undefined,
  labels: Record<string, string>,
): ServiceRoutesInput {
  const full: Record<string, string> = {};
  for (const [key, value] of Object.entries(labels)) full[`${LABEL_PREFIX}${key}`] = value;
  return { name, createdAt, labels: full };
}

/** The http and the stream route files of `table`, one after the other. */
export function renderRouteTable(table: RouteTable): string {
  return `${renderHttpRoutes(table, { bundleDir: '/app/nginx/bundle' }).text}${renderStreamRoutes(table).text}`;
}
