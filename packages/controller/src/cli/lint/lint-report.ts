/**
 * `lint`'s verdict: the services' labels resolved with the daemon's own code (the same settings,
 * conflict rules and renderer), and the text and JSON forms of the result. Pure.
 */
import { renderHttpRoutes, renderStreamRoutes, renderUpstreams } from '@ecs-ingress/renderer';
import type { RouteReport, RouteTable } from '@ecs-ingress/types';
import { parseRouteLabels } from '@ecs-ingress/types';
import { resolveRoutes } from '../../routes/resolve-routes.js';
import type { RouteSettings } from '../../routes/route-settings.js';
import type { LintFileSummary, LintInputs } from './lint-input.js';

export interface LintRenderOptions {
  readonly bundleDir: string;
  readonly httpListen: readonly string[];
  readonly httpsListen: readonly string[];
}

/** A service and what `lint` noticed about it beyond its routes. */
interface LintServiceSummary {
  readonly name: string;
  readonly file: string;
  readonly taskDefinitionArn?: string;
  /** At least one `ecs-ingress.http.*` / `tcp.*` label. */
  readonly exposed: boolean;
  /** Labels under `ecs-ingress.` that are neither routes nor port/container: left alone. */
  readonly ignoredLabels: readonly string[];
  /** Containers whose route labels are not read (not the serving container). */
  readonly ignoredContainers: readonly string[];
  /** Route labels the daemon would not read at all (no serving container): fails the lint. */
  readonly problem?: string;
}

export interface LintResult {
  /** 0: every route would be rendered; 1: a route is invalid or in conflict, or a service's route labels are unread. */
  readonly exitCode: 0 | 1;
  readonly files: readonly LintFileSummary[];
  readonly services: readonly LintServiceSummary[];
  readonly routes: readonly RouteReport[];
  readonly table: RouteTable;
  /** The NGINX text the daemon would write: the route files, and the upstreams they name (no servers). */
  readonly nginx: { readonly http: string; readonly stream: string; readonly upstreams: string };
}

export function lintServices(
  inputs: LintInputs,
  settings: RouteSettings,
  render: LintRenderOptions,
): LintResult {
  // `inputs.services` is in seniority order already (lint-input.ts): the rank is the age.
  const table = resolveRoutes(
    inputs.services.map((service, rank) => ({
      name: service.name,
      createdAt: rank,
      labels: service.labels,
    })),
    settings,
  );
  const services = inputs.services.map((service) => {
    const parsed = parseRouteLabels(service.labels);
    return {
      name: service.name,
      file: service.file,
      ...(service.taskDefinitionArn === undefined ? {} : { taskDefinitionArn: service.taskDefinitionArn }),
      exposed: parsed.exposed,
      ignoredLabels: parsed.ignored,
      ignoredContainers: service.ignoredContainers,
      ...(service.problem === undefined ? {} : { problem: service.problem }),
    };
  });
  const upstreamNames = new Set<string>();
  for (const host of table.hosts) {
    for (const location of host.locations) {
      upstreamNames.add(location.upstream);
      if (location.canary !== undefined) upstreamNames.add(location.canary.upstream);
    }
  }
  for (const route of table.tcp) upstreamNames.add(route.upstream);
  const nginx = {
    http: renderHttpRoutes(table, { ...render, defaultServer: false }).text,
    stream: renderStreamRoutes(table).text,
    upstreams: renderUpstreams([...upstreamNames].map((name) => ({ name, servers: [] }))).text,
  };
  const failed =
    table.reports.some((report) => report.state !== 'active') ||
    services.some((s) => s.problem !== undefined);
  return { exitCode: failed ? 1 : 0, files: inputs.files, services, routes: table.reports, table, nginx };
}

/** The `--json` document (stable field names; the NGINX text as strings). */
export function lintJson(result: LintResult): string {
  const { table: _table, ...rest } = result;
  return `${JSON.stringify({ ok: result.exitCode === 0, ...rest }, null, 2)}\n`;
}

function describeRoute(report: RouteReport, table: RouteTable): string {
  if (report.kind === 'tcp') return `listen ${report.listen ?? '?'}`;
  const locations = table.hosts.flatMap((host) =>
    host.locations
      .filter((l) => l.service === report.service && l.route === report.route)
      .map((l) => `${host.host}${l.match === 'exact' ? '=' : ''}${l.path}`),
  );
  if (locations.length > 0) return locations.join(' ');
  return (report.hosts ?? []).join(' ');
}

/** The human form: services, routes, problems, then the NGINX text. */
export function lintText(result: LintResult): string {
  const out: string[] = [];
  for (const file of result.files) {
    out.push(
      `${file.file}: ${file.kind}${file.invalidLines.length > 0 ? `, ${file.invalidLines.length} invalid lines skipped` : ''}`,
    );
    for (const line of file.invalidLines) out.push(`  ${line}`);
  }
  out.push('', 'services (oldest first: the older one wins a conflict; equals by name):');
  for (const service of result.services) {
    const from = service.taskDefinitionArn ?? service.file;
    out.push(
      `  ${service.name}  ${service.exposed ? 'exposed' : 'not exposed (no ecs-ingress.http.* or tcp.* label)'}  [${from}]`,
    );
    if (service.problem !== undefined) out.push(`    ERROR: ${service.problem}`);
    for (const label of service.ignoredLabels) out.push(`    note: ${label} is not a route key; ignored`);
    for (const container of service.ignoredContainers)
      out.push(`    note: container ${container} has route labels but does not serve; they are not read`);
  }
  out.push('', 'routes:');
  if (result.routes.length === 0) out.push('  (none)');
  for (const report of result.routes) {
    const code = report.code === undefined ? '' : `[${report.code}] `;
    out.push(
      `  ${report.state.padEnd(8)} ${report.kind} ${report.service}/${report.route}  ${describeRoute(report, result.table) || '-'}`,
      `           ${code}${report.reason}`,
    );
  }
  const problems =
    result.routes.filter((r) => r.state !== 'active').length +
    result.services.filter((s) => s.problem !== undefined).length;
  out.push(
    '',
    '--- http context (routes) ---',
    result.nginx.http.trimEnd(),
    '',
    '--- stream context (routes) ---',
    result.nginx.stream.trimEnd(),
    '',
    '--- http and stream context (upstreams named by the routes; servers come from running tasks) ---',
    result.nginx.upstreams.trimEnd(),
    '',
    problems === 0
      ? `ok: ${result.routes.length} routes, all rendered`
      : `FAILED: ${problems} problems; ${result.routes.filter((r) => r.state === 'active').length} of ${result.routes.length} routes would be rendered`,
  );
  return `${out.join('\n')}\n`;
}
