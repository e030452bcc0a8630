/**
 * Routes from labels in the demo: the daemon's routes renderer, set up for loopback (the http
 * routes listen on the demo's port, the one tcp route on its stream port), and how the demo prints
 * route states as they change.
 */
import { join } from 'node:path';
import type { Logger, RouteReport } from '@ecs-ingress/types';
import { createRoutesRenderer, type RoutesRenderer } from '../routes/routes-renderer.js';

export interface DemoRoutes {
  readonly renderer: RoutesRenderer;
  readonly httpFile: string;
  readonly streamFile: string;
}

export function createDemoRoutes(options: {
  readonly prefix: string;
  readonly httpPort: number;
  readonly streamPort: number;
  readonly logger: Logger;
}): DemoRoutes {
  const httpFile = join(options.prefix, 'routes.http.conf');
  const streamFile = join(options.prefix, 'routes.stream.conf');
  const listen = [`127.0.0.1:${options.httpPort}`];
  const renderer = createRoutesRenderer({
    httpFile,
    streamFile,
    // As ECS_INGRESS_TCP_PORTS=<stream port>: the only port a tcp route may listen on.
    settings: { tcpPorts: [{ from: options.streamPort, to: options.streamPort }] },
    // No demo route has TLS: the https listen is never rendered, but must be a valid address.
    render: { httpListen: listen, httpsListen: listen, bundleDir: options.prefix },
    logger: options.logger,
  });
  return { renderer, httpFile, streamFile };
}

/** `web/default (http) active: rendered on 127.0.0.1 localhost` — one line per route. */
export function describeRoute(report: RouteReport): string {
  const where =
    report.kind === 'tcp'
      ? ` on port ${report.listen ?? '?'}`
      : report.hosts === undefined
        ? ''
        : ` on ${report.hosts.join(' ')}`;
  const code = report.code === undefined ? '' : ` [${report.code}]`;
  return `route ${report.service}/${report.route} (${report.kind}) ${report.state}${where}: ${report.reason}${code}`;
}

/**
 * Remembers the route lines last printed; returns the lines of a table that are new since then
 * (a route that appeared or changed state), and `route <service>/<route> (<kind>) gone` for one
 * that is no longer there.
 */
export function routeChangePrinter(): (reports: readonly RouteReport[] | undefined) => readonly string[] {
  let last = new Map<string, string>();
  return (reports) => {
    if (reports === undefined) return [];
    const next = new Map(reports.map((r) => [`${r.service}/${r.route} (${r.kind})`, describeRoute(r)]));
    const lines = [...next.values()].filter((line) => ![...last.values()].includes(line));
    for (const key of last.keys()) if (!next.has(key)) lines.push(`route ${key} gone`);
    last = next;
    return lines;
  };
}
