import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Logger, silentLogger } from '@ecs-ingress/types';
import { HttpHandlerError, HttpListenError } from './errors.js';
import type { Metrics } from './metrics.js';

/** The port ingress-nginx also uses for its metrics and health; kept for operators' muscle memory. */
export const DEFAULT_HTTP_PORT = 10254;
/** All interfaces: Prometheus scrapes the instance's private address (host networking). */
export const DEFAULT_HTTP_HOST = '0.0.0.0';

/**
 * Longer than the usual scrape intervals (15 s to 1 min), so Prometheus reuses its connection
 * between scrapes instead of reconnecting each time (Node's default is 5 s).
 */
const KEEP_ALIVE_TIMEOUT_MS = 65_000;

/** A probe's answer: `ok` picks 200 or 503; `details` is echoed in the JSON body. */
export interface ProbeResult {
  readonly ok: boolean;
  readonly details: Record<string, unknown>;
}

/**
 * What the endpoints show, supplied by the runtime. Each method may return a promise; a throw (or
 * rejection) answers 500 and is logged, the server keeps running.
 */
export interface StatusProvider {
  /** The process and the NGINX master are alive. */
  healthz(): ProbeResult | Promise<ProbeResult>;
  /** The first full sync is done and a config is applied. */
  readyz(): ProbeResult | Promise<ProbeResult>;
  /** The store as JSON-able data: tasks with their admission reason. Maps and Sets are converted. */
  debugState(): unknown;
  /** The rendered upstreams file. */
  debugUpstreams(): string | Promise<string>;
  /** The fleet's lease and shared listing (docs/fleet.md); absent when ECS_INGRESS_SHARED_S3_URI is unset. */
  debugFleet?(): unknown;
  /** Routes from labels: every route, its owner service, state and reason (docs/routes.md). */
  debugRoutes?(): unknown;
}

/**
 * Which routes a listener serves: `probes` = /metrics, /healthz, /readyz (reachable by Prometheus
 * and load balancers); `debug` = /debug/state, /debug/upstreams (every task ARN and IP: the daemon
 * binds them to loopback by default); `all` = both, on one listener.
 */
export type HttpEndpoints = 'all' | 'probes' | 'debug';

export interface HttpServerOptions {
  /** Default `0.0.0.0`; tests use `127.0.0.1`. */
  host?: string;
  /** Default `all`. */
  endpoints?: HttpEndpoints;
  /** The 404 body for /debug/* on a `probes` listener: where the debug endpoints are instead. */
  debugElsewhere?: string;
  /** Default 10254; 0 picks a free port (tests). */
  port?: number;
  metrics: Metrics;
  status: StatusProvider;
  logger?: Logger;
}

export interface HttpServer {
  /** `http://host:port`, with the bound port. */
  readonly url: string;
  readonly port: number;
  /** Stops listening and closes every connection, idle keep-alive ones included. */
  close(): Promise<void>;
}

interface Reply {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
}

type Route = (options: HttpServerOptions) => Promise<Reply>;

const JSON_TYPE = 'application/json; charset=utf-8';
const TEXT_TYPE = 'text/plain; charset=utf-8';

const ROUTES: ReadonlyMap<string, Route> = new Map<string, Route>([
  [
    '/metrics',
    async ({ metrics }) => ({
      status: 200,
      contentType: metrics.registry.contentType,
      body: await metrics.registry.metrics(),
    }),
  ],
  ['/healthz', async ({ status }) => probeReply(await status.healthz())],
  ['/readyz', async ({ status }) => probeReply(await status.readyz())],
  [
    '/debug/state',
    async ({ status }) => ({
      status: 200,
      contentType: JSON_TYPE,
      body: toJsonText(await status.debugState()),
    }),
  ],
  [
    '/debug/upstreams',
    async ({ status }) => ({ status: 200, contentType: TEXT_TYPE, body: await status.debugUpstreams() }),
  ],
  [
    '/debug/fleet',
    async ({ status }) =>
      status.debugFleet
        ? { status: 200, contentType: JSON_TYPE, body: toJsonText(status.debugFleet()) }
        : {
            status: 404,
            contentType: TEXT_TYPE,
            body: 'fleet sharing is off (ECS_INGRESS_SHARED_S3_URI is unset)\n',
          },
  ],
  [
    '/debug/routes',
    async ({ status }) =>
      status.debugRoutes
        ? { status: 200, contentType: JSON_TYPE, body: toJsonText(status.debugRoutes()) }
        : { status: 404, contentType: TEXT_TYPE, body: 'routes from labels are not wired here\n' },
  ],
]);

/**
 * Serves `/metrics`, `/healthz`, `/readyz`, `/debug/state` and `/debug/upstreams` with node:http.
 * @throws HttpListenError when the address cannot be bound.
 */
export async function startHttpServer(options: HttpServerOptions): Promise<HttpServer> {
  const host = options.host ?? DEFAULT_HTTP_HOST;
  const logger = (options.logger ?? silentLogger).child({ component: 'http' });
  const server = createServer({ keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS }, (req, res) => {
    handle(req, res, options, logger).catch((err: unknown) => {
      // handle() answers every failure itself; this only catches a bug in that answering.
      logger.error({ code: 'ECS_INGRESS_HTTP_HANDLER_FAILED', err }, 'HTTP response failed');
      res.destroy();
    });
  });
  server.on('clientError', (err, socket) => {
    // Malformed requests (a port scanner, a TLS hello): answer 400 if possible, never crash.
    logger.debug({ err }, 'malformed HTTP request');
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    else socket.destroy();
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (cause: Error) => {
      reject(new HttpListenError(`cannot listen on ${host}:${options.port ?? DEFAULT_HTTP_PORT}`, { cause }));
    };
    server.once('error', onError);
    server.listen({ host, port: options.port ?? DEFAULT_HTTP_PORT }, () => {
      server.off('error', onError);
      resolve();
    });
  });
  server.on('error', (err) => {
    logger.error({ code: 'ECS_INGRESS_HTTP_SERVER_ERROR', err }, 'HTTP server error');
  });

  const port = (server.address() as AddressInfo).port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  logger.info({ url, endpoints: options.endpoints ?? 'all' }, 'HTTP endpoints listening');

  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        // close() alone waits for keep-alive connections to time out (up to a minute).
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  options: HttpServerOptions,
  logger: Logger,
): Promise<void> {
  // No route takes a body; draining it keeps the connection reusable.
  req.resume();
  const path = pathOf(req.url);
  const route =
    path === undefined || !serves(options.endpoints ?? 'all', path) ? undefined : ROUTES.get(path);
  if (route === undefined) {
    const debugHint = path?.startsWith('/debug/') === true ? options.debugElsewhere : undefined;
    send(req, res, {
      status: 404,
      contentType: TEXT_TYPE,
      body: `not found${debugHint ? `: ${debugHint}` : ''}\n`,
    });
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    send(
      req,
      res,
      { status: 405, contentType: TEXT_TYPE, body: 'method not allowed\n' },
      { Allow: 'GET, HEAD' },
    );
    return;
  }
  let reply: Reply;
  try {
    reply = await route(options);
  } catch (cause) {
    const error = new HttpHandlerError(path as string, { cause });
    logger.error({ code: error.code, route: error.route, err: cause }, error.message);
    reply = {
      status: 500,
      contentType: JSON_TYPE,
      body: `${JSON.stringify({ ok: false, error: { code: error.code, message: error.message } })}\n`,
    };
  }
  send(req, res, reply);
}

function send(
  req: IncomingMessage,
  res: ServerResponse,
  reply: Reply,
  extra: Record<string, string> = {},
): void {
  res.writeHead(reply.status, {
    'Content-Type': reply.contentType,
    'Content-Length': Buffer.byteLength(reply.body),
    // Health and metrics must never come from a cache.
    'Cache-Control': 'no-store',
    ...extra,
  });
  res.end(req.method === 'HEAD' ? undefined : reply.body);
}

function serves(endpoints: HttpEndpoints, path: string): boolean {
  if (endpoints === 'all') return true;
  return path.startsWith('/debug/') === (endpoints === 'debug');
}

/** The path of a request target, without the query; undefined when it does not parse. */
function pathOf(target: string | undefined): string | undefined {
  try {
    return new URL(target ?? '/', 'http://localhost').pathname;
  } catch {
    return undefined;
  }
}

function probeReply(result: ProbeResult): Reply {
  return {
    status: result.ok ? 200 : 503,
    contentType: JSON_TYPE,
    body: `${JSON.stringify({ ok: result.ok, details: result.details })}\n`,
  };
}

/** JSON text of the store's state: immer states may hold Maps and Sets, which JSON drops silently. */
function toJsonText(value: unknown): string {
  const text = JSON.stringify(
    value,
    (_key, v: unknown) => {
      if (v instanceof Map) return Object.fromEntries(v);
      if (v instanceof Set) return [...v];
      if (typeof v === 'bigint') return v.toString();
      return v;
    },
    2,
  );
  // JSON.stringify(undefined) is undefined, not a string.
  return `${text ?? 'null'}\n`;
}
