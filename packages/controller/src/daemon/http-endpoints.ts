/**
 * The daemon's HTTP listeners: /metrics, /healthz and /readyz on ECS_INGRESS_HTTP_HOST:PORT
 * (all interfaces by default: Prometheus and load balancers reach them), and /debug/state and
 * /debug/upstreams, which list every task ARN and IP address, on ECS_INGRESS_DEBUG_LISTEN
 * (loopback by default; `off` disables them; the main address itself puts everything on one
 * listener). A listen failure names the variable to change.
 */
import type { Logger } from '@ecs-ingress/types';
import type { DaemonConfig } from '../config/env.js';
import type { Metrics } from '../http/metrics.js';
import { type HttpServer, type StatusProvider, startHttpServer } from '../http/server.js';
import { httpListenConfigError } from './startup-checks.js';

export interface DaemonEndpoints {
  readonly main: HttpServer;
  /** The debug listener, when it is separate from the main one and not `off`. */
  readonly debug?: HttpServer;
  close(): Promise<void>;
}

export async function startDaemonEndpoints(
  config: DaemonConfig,
  deps: { readonly metrics: Metrics; readonly logger: Logger; readonly status: StatusProvider },
): Promise<DaemonEndpoints> {
  const { host, port, debug } = config.http;
  const shared = debug !== undefined && debug.host === host && debug.port === port;
  const debugWhere =
    debug === undefined
      ? 'the debug endpoints are off (ECS_INGRESS_DEBUG_LISTEN=off)'
      : `the debug endpoints listen on ${debug.host}:${debug.port} (ECS_INGRESS_DEBUG_LISTEN)`;
  const main = await startHttpServer({
    host,
    port,
    endpoints: shared ? 'all' : 'probes',
    debugElsewhere: debugWhere,
    ...deps,
  }).catch((err: unknown) => {
    throw httpListenConfigError(config, err);
  });
  if (debug === undefined || shared) return { main, close: () => main.close() };
  const debugServer = await startHttpServer({
    host: debug.host,
    port: debug.port,
    endpoints: 'debug',
    ...deps,
  }).catch(async (err: unknown) => {
    await main.close();
    throw httpListenConfigError(config, err, 'ECS_INGRESS_DEBUG_LISTEN');
  });
  return {
    main,
    debug: debugServer,
    close: async () => {
      await Promise.all([main.close(), debugServer.close()]);
    },
  };
}
