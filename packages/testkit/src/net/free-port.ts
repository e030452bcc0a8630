import { createServer, type Server } from 'node:net';

/** Binds `host`:0 and resolves with the server and the port the OS gave it. */
async function listenEphemeral(host: string): Promise<{ port: number; server: Server }> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, resolve);
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error(`no free port on ${host}`);
  return { port: address.port, server };
}

/**
 * A TCP port that was free a moment ago on `host` (bind port 0, read it, close), for configs that
 * need a number (NGINX, Prometheus). Another process may take it before it is used: callers on a
 * shared machine retry on a failed bind.
 */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const { port, server } = await listenEphemeral(host);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Holds a loopback port open (so NGINX's bind() of it fails); close `server` to release it. */
export function holdPort(): Promise<{ port: number; server: Server }> {
  return listenEphemeral('127.0.0.1');
}
