/**
 * The demo's HTTP endpoints: the daemon's /metrics, /healthz, /readyz, /debug/state and
 * /debug/upstreams on one loopback listener (the demo only ever binds 127.0.0.1), so the
 * Prometheus example (deploy/prometheus, static target 127.0.0.1:10254) and the dashboard work
 * against a laptop.
 */
import type { Logger } from '@ecs-ingress/types';
import type { Metrics } from '../http/metrics.js';
import { type HttpServer, type StatusProvider, startHttpServer } from '../http/server.js';

export async function startDemoEndpoints(options: {
  readonly port: number;
  readonly metrics: Metrics;
  readonly status: StatusProvider;
  readonly logger: Logger;
}): Promise<HttpServer> {
  try {
    return await startHttpServer({ host: '127.0.0.1', endpoints: 'all', ...options });
  } catch (error) {
    const inUse = (error as { cause?: { code?: unknown } }).cause?.code === 'EADDRINUSE';
    const hint = inUse ? ' (in use: a daemon? choose another with --admin-port, 0 for a free one)' : '';
    throw new Error(`cannot serve the metrics and debug endpoints on 127.0.0.1:${options.port}${hint}`, {
      cause: error,
    });
  }
}
