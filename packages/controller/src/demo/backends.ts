/**
 * Tiny HTTP backends standing in for ECS tasks on loopback. Each answers every request with one
 * line naming its service and task (`web task 6d7e8f9 127.0.0.11:40123`), so a `curl` through NGINX
 * shows which task served it.
 *
 * The tasks of one service share a container port (awsvpc: the port comes from the task
 * definition), so a service's backends listen on ONE port, each on its own 127.0.0.x address. The
 * port is chosen by the kernel on the first address and then tried on the others; when one of them
 * already has it in use (another process on the machine), all are closed and the round starts
 * again, at most `attempts` times.
 */
import { createServer, type Server } from 'node:http';

export interface DemoBackend {
  readonly service: string;
  readonly shortId: string;
  readonly host: string;
  readonly port: number;
  /** Requests answered so far. */
  requests: number;
}

export interface BackendGroup {
  readonly port: number;
  readonly backends: readonly DemoBackend[];
  close(): Promise<void>;
}

/** The response body of a backend (tests match on it). */
export function backendBody(service: string, shortId: string, host: string, port: number): string {
  return `${service} task ${shortId} ${host}:${port}\n`;
}

function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => reject(error);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      const address = server.address();
      if (address === null || typeof address === 'string') reject(new Error('no address'));
      else resolve(address.port);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    // Keep-alive connections from NGINX would hold close() open for their idle timeout.
    server.closeAllConnections();
  });
}

function backendServer(backend: DemoBackend): Server {
  const server = createServer((req, res) => {
    backend.requests += 1;
    const body = backendBody(backend.service, backend.shortId, backend.host, backend.port);
    res.writeHead(200, { 'content-type': 'text/plain', 'x-demo-task': backend.shortId });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  server.keepAliveTimeout = 5_000;
  return server;
}

/** Starts one backend per member on a port common to all of them (the tasks of one container port). */
export async function startBackendGroup(
  members: readonly { readonly host: string; readonly service: string; readonly shortId: string }[],
  attempts = 20,
): Promise<BackendGroup> {
  let lastError: unknown;
  for (let attempt = 0; attempt < attempts; attempt += 1) {
    const servers: Server[] = [];
    try {
      let port = 0;
      const backends: DemoBackend[] = [];
      for (const member of members) {
        const backend: DemoBackend = {
          service: member.service,
          shortId: member.shortId,
          host: member.host,
          port,
          requests: 0,
        };
        const server = backendServer(backend);
        servers.push(server);
        const bound = await listen(server, member.host, port);
        port = bound;
        // The first backend learns its port only after listen(); the others were told it.
        (backend as { port: number }).port = bound;
        backends.push(backend);
      }
      return {
        port,
        backends,
        close: async () => {
          await Promise.all(servers.map(closeServer));
        },
      };
    } catch (error) {
      lastError = error;
      await Promise.all(servers.map(closeServer));
    }
  }
  throw new Error(`could not bind one port on ${members.length} loopback addresses`, {
    cause: lastError,
  });
}
