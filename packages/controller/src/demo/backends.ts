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

/** A recorded task address to stand in for: its placeholder IP and port, and what to answer. */
export interface BackendTarget {
  readonly ip: string;
  readonly port: number;
  readonly service: string;
  readonly shortId: string;
}

export interface LocalBackends {
  readonly groups: readonly BackendGroup[];
  /** Recorded IP → 127.x address. */
  readonly ips: ReadonlyMap<string, string>;
  /** Recorded port → the port its backends bound. */
  readonly ports: ReadonlyMap<number, number>;
  close(): Promise<void>;
}

/** The first loopback address given to a task; 127.0.0.1 stays NGINX's. */
const FIRST_BACKEND_OCTET = 11;

/** The `n`-th loopback address from 127.0.0.11 on, skipping .0, .1 and .255 in every /24. */
function loopbackAddress(n: number): string {
  const perBlock = 254 - FIRST_BACKEND_OCTET + 1;
  const block = Math.floor(n / perBlock);
  return `127.${Math.floor(block / 256)}.${block % 256}.${FIRST_BACKEND_OCTET + (n % perBlock)}`;
}

/**
 * One stub backend per recorded address, on loopback: each recorded IP gets a 127.x address (the
 * same last octet when it is free, easier to follow: 192.0.2.14 → 127.0.0.14), and the targets of
 * one recorded port share one bound port (ports map per recorded port, like awsvpc container
 * ports). The same IP and port twice (a task replaced at the same address) is one backend.
 */
export async function startLocalBackends(targets: readonly BackendTarget[]): Promise<LocalBackends> {
  const ips = new Map<string, string>();
  const used = new Set<string>();
  let next = 0;
  for (const target of targets) {
    if (ips.has(target.ip)) continue;
    const octet = Number(target.ip.split('.')[3]);
    let host = `127.0.0.${octet}`;
    if (!(octet >= FIRST_BACKEND_OCTET && octet <= 254) || used.has(host)) {
      while (used.has(loopbackAddress(next))) next += 1;
      host = loopbackAddress(next);
    }
    used.add(host);
    ips.set(target.ip, host);
  }
  const byPort = new Map<number, Map<string, BackendTarget>>();
  for (const target of targets) {
    const members = byPort.get(target.port) ?? new Map<string, BackendTarget>();
    if (!members.has(target.ip)) members.set(target.ip, target);
    byPort.set(target.port, members);
  }
  const groups: BackendGroup[] = [];
  const ports = new Map<number, number>();
  const close = async () => {
    await Promise.all(groups.map((g) => g.close()));
  };
  try {
    for (const [recorded, members] of byPort) {
      const group = await startBackendGroup(
        [...members.values()].map((t) => ({
          host: ips.get(t.ip) as string,
          service: t.service,
          shortId: t.shortId,
        })),
      );
      groups.push(group);
      ports.set(recorded, group.port);
    }
  } catch (error) {
    await close();
    throw error;
  }
  return { groups, ips, ports, close };
}
