import { Agent, type ClientRequest, request } from 'node:http';
import type { Logger } from '@ecs-ingress/types';
import { silentLogger } from '@ecs-ingress/types';
import { DynamicControlError, type DynamicControlOperation } from './errors.js';

/** Path of the control location on NGINX's internal control server (see lua/ecs_ingress/control.lua). */
export const DYNAMIC_CONTROL_PATH = '/endpoints';
/** Default request timeout: a push is one loopback round trip and a shared-dict write. */
export const DEFAULT_DYNAMIC_CONTROL_TIMEOUT_MS = 2_000;
/**
 * Largest body sent in one push; larger pushes are split by service. Must not exceed the control
 * server's `client_max_body_size` (1m by default) nor the Lua handler's limit (1 MiB by default).
 */
export const DEFAULT_DYNAMIC_MAX_BODY_BYTES = 1024 * 1024;
/**
 * How long an idle kept-alive connection to the control server is kept: shorter than NGINX's
 * `keepalive_timeout` (75 s by default), so it is normally this side that closes it.
 */
const IDLE_CONNECTION_MS = 30_000;
/** A control answer is small JSON; anything longer than this is not ours. */
const MAX_RESPONSE_BYTES = 32 * 1024 * 1024;

export interface DynamicControlClientOptions {
  /** `http://127.0.0.1:<port>` (any loopback host) or `unix:/absolute/path.sock`. */
  readonly endpoint: string;
  readonly logger?: Logger;
  /** Per request, from sending to the full answer. Default 2000. */
  readonly timeoutMs?: number;
  /** Split pushes so each body stays under this many bytes. Default 1 MiB. */
  readonly maxBodyBytes?: number;
}

/** What `GET /endpoints` returns: the version counter and every known service's endpoints. */
export interface DynamicEndpointState {
  readonly version: number;
  readonly services: Record<string, string[]>;
}

type Target = { readonly host: string; readonly port: number } | { readonly socketPath: string };

/**
 * Talks to the Lua control endpoint that NGINX serves on loopback in dynamic upstream mode.
 * `pushEndpoints` replaces the endpoint lists of the given services (each list is the full set;
 * services left out keep theirs) without a reload. Calls are independent; the reconciler is
 * expected to run one at a time.
 */
export class DynamicControlClient {
  private readonly target: Target;
  private readonly logger: Logger;
  private readonly timeoutMs: number;
  private readonly maxBodyBytes: number;
  /**
   * One kept-alive connection: a push then costs one request on an open socket instead of a
   * connect plus NGINX's accept, which on a saturated machine is one more wait for a busy worker.
   */
  private readonly agent = new Agent({ keepAlive: true, maxFreeSockets: 1, timeout: IDLE_CONNECTION_MS });

  constructor(options: DynamicControlClientOptions) {
    this.target = parseEndpoint(options.endpoint);
    this.logger = options.logger ?? silentLogger;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_DYNAMIC_CONTROL_TIMEOUT_MS;
    this.maxBodyBytes = options.maxBodyBytes ?? DEFAULT_DYNAMIC_MAX_BODY_BYTES;
    if (!Number.isInteger(this.timeoutMs) || this.timeoutMs <= 0) {
      throw new RangeError(`timeoutMs must be a positive integer, got ${String(options.timeoutMs)}`);
    }
  }

  /**
   * Pushes full endpoint lists (`"a.b.c.d:port"`) for the given services. Lists are de-duplicated
   * and sorted (the balancer refuses duplicates, and order carries no meaning). When the body would
   * exceed `maxBodyBytes` the services are sent in several requests; each service is still
   * replaced atomically. Resolves with the version counter after the last request.
   * Throws `DynamicControlError` (code `ECS_INGRESS_DYNAMIC_PUSH_FAILED`) on a rejection (with the
   * handler's reason), an HTTP error, a network error or a timeout.
   */
  async pushEndpoints(services: Readonly<Record<string, readonly string[]>>): Promise<{ version: number }> {
    const batches = this.batch(services);
    let version = 0;
    for (const body of batches) {
      const started = performance.now();
      const answer = await this.call('push', 'POST', body);
      version = readVersion(answer, 'push');
      this.logger.debug(
        { bytes: Buffer.byteLength(body), version, ms: Math.round((performance.now() - started) * 10) / 10 },
        'dynamic endpoints pushed',
      );
    }
    return { version };
  }

  /** The endpoints NGINX currently holds for every known service. */
  async getEndpoints(): Promise<Record<string, string[]>> {
    return (await this.getState()).services;
  }

  /** The endpoints and the version counter. */
  async getState(): Promise<DynamicEndpointState> {
    const answer = await this.call('query', 'GET', undefined);
    const version = readVersion(answer, 'query');
    const services = (answer as { services?: unknown }).services;
    if (typeof services !== 'object' || services === null || Array.isArray(services)) {
      throw new DynamicControlError('query', 'answer has no services object', { retryable: false });
    }
    const out: Record<string, string[]> = {};
    for (const [name, list] of Object.entries(services)) {
      if (!Array.isArray(list) || !list.every((item) => typeof item === 'string')) {
        throw new DynamicControlError('query', `endpoints of ${name} are not a list of strings`, {
          retryable: false,
        });
      }
      out[name] = list;
    }
    return { version, services: out };
  }

  /** Splits services into JSON bodies no larger than maxBodyBytes (one service never split). */
  private batch(services: Readonly<Record<string, readonly string[]>>): string[] {
    const entries = Object.entries(services).map(([name, list]) => {
      const unique = [...new Set(list)].sort();
      return `${JSON.stringify(name)}:${JSON.stringify(unique)}`;
    });
    const envelope = Buffer.byteLength('{"services":{}}');
    const bodies: string[] = [];
    let current: string[] = [];
    let size = envelope;
    for (const entry of entries) {
      const bytes = Buffer.byteLength(entry) + 1;
      if (envelope + bytes > this.maxBodyBytes) {
        throw new DynamicControlError(
          'push',
          `one service's endpoint list alone exceeds ${this.maxBodyBytes} bytes`,
          {
            retryable: false,
          },
        );
      }
      if (size + bytes > this.maxBodyBytes && current.length > 0) {
        bodies.push(`{"services":{${current.join(',')}}}`);
        current = [];
        size = envelope;
      }
      current.push(entry);
      size += bytes;
    }
    // An empty push still makes one request: it checks the endpoint and reports the version.
    if (current.length > 0 || bodies.length === 0) bodies.push(`{"services":{${current.join(',')}}}`);
    return bodies;
  }

  /** Closes the kept-alive connection (the client stays usable: a later call opens a new one). */
  close(): void {
    this.agent.destroy();
  }

  /**
   * One request; when it fails on a reused kept-alive connection before any answer (NGINX closed the
   * idle connection, a reload's old worker quit), once more on a fresh connection. Both calls are
   * idempotent: a push carries full lists.
   */
  private async call(
    operation: DynamicControlOperation,
    method: 'GET' | 'POST',
    body: string | undefined,
  ): Promise<unknown> {
    try {
      return await this.attempt(operation, method, body);
    } catch (err) {
      if (!(err instanceof StaleConnectionError)) throw err;
      this.logger.debug({ err: err.cause }, 'dynamic control connection was closed by NGINX; retrying');
      return this.attempt(operation, method, body);
    }
  }

  private attempt(
    operation: DynamicControlOperation,
    method: 'GET' | 'POST',
    body: string | undefined,
  ): Promise<unknown> {
    return new Promise((resolve, reject) => {
      // A destroyed request can report on both the request and the response; answer once.
      let settled = false;
      const fail = (reason: string, extra: { status?: number; retryable: boolean; cause?: unknown }) => {
        clearTimeout(timer);
        if (settled) return;
        settled = true;
        const error = new DynamicControlError(operation, reason, extra);
        this.logger.warn(
          { err: error, code: error.code, status: extra.status },
          'dynamic control call failed',
        );
        reject(error);
      };
      const headers: Record<string, string | number> = { accept: 'application/json' };
      if (body !== undefined) {
        headers['content-type'] = 'application/json';
        headers['content-length'] = Buffer.byteLength(body);
      }
      let answered = false;
      const req: ClientRequest = request(
        { ...this.target, method, path: DYNAMIC_CONTROL_PATH, headers, agent: this.agent },
        (res) => {
          answered = true;
          const chunks: Buffer[] = [];
          let length = 0;
          res.on('data', (chunk: Buffer) => {
            length += chunk.length;
            if (length > MAX_RESPONSE_BYTES) {
              req.destroy(new Error(`answer longer than ${MAX_RESPONSE_BYTES} bytes`));
              return;
            }
            chunks.push(chunk);
          });
          res.on('end', () => {
            clearTimeout(timer);
            const status = res.statusCode ?? 0;
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown;
            try {
              parsed = JSON.parse(text);
            } catch (cause) {
              fail(`answer is not JSON: ${text.slice(0, 200)}`, { status, retryable: status >= 500, cause });
              return;
            }
            if (status !== 200) {
              const reason = (parsed as { error?: unknown } | null)?.error;
              fail(typeof reason === 'string' ? reason : `HTTP ${status}`, {
                status,
                // 4xx: the control handler refused this input and changed nothing; resending it cannot help.
                retryable: status >= 500,
              });
              return;
            }
            if (settled) return;
            settled = true;
            resolve(parsed);
          });
          res.on('error', (cause) => {
            clearTimeout(timer);
            fail(`answer interrupted: ${cause.message}`, { retryable: true, cause });
          });
        },
      );
      const timer = setTimeout(() => {
        req.destroy(new Error(`no answer within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      req.on('error', (cause: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        if (!settled && !answered && req.reusedSocket && cause.code === 'ECONNRESET') {
          settled = true;
          reject(new StaleConnectionError(cause));
          return;
        }
        fail(cause.message, { retryable: true, cause });
      });
      req.end(body);
    });
  }
}

/** A request that failed on a reused connection before any answer: `call` retries it once. */
class StaleConnectionError extends Error {
  constructor(cause: Error) {
    super('kept-alive connection closed by the server', { cause });
  }
}

function readVersion(answer: unknown, operation: DynamicControlOperation): number {
  const version = (answer as { version?: unknown } | null)?.version;
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 0) {
    throw new DynamicControlError(operation, 'answer has no version', { retryable: false });
  }
  return version;
}

/**
 * Only loopback targets: the control endpoint must never be reached over the network, and the
 * client refuses to send endpoint sets anywhere else.
 */
function parseEndpoint(endpoint: string): Target {
  if (endpoint.startsWith('unix:')) {
    const socketPath = endpoint.slice('unix:'.length);
    if (!socketPath.startsWith('/'))
      throw new RangeError(`unix endpoint needs an absolute path: ${endpoint}`);
    return { socketPath };
  }
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch (cause) {
    throw new RangeError(`not a URL: ${endpoint}`, { cause });
  }
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const loopback = /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) || host === '::1' || host === 'localhost';
  if (
    url.protocol !== 'http:' ||
    !loopback ||
    url.port === '' ||
    (url.pathname !== '/' && url.pathname !== '')
  ) {
    throw new RangeError(
      `control endpoint must be http://127.x.x.x:<port>, http://[::1]:<port> or unix:/path: ${endpoint}`,
    );
  }
  return { host, port: Number(url.port) };
}
