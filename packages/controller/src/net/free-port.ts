import { createServer } from 'node:net';

/**
 * A TCP port that was free a moment ago on `host` (bind port 0, read it, close): for programs that
 * need a number in their config (NGINX, Prometheus) rather than binding port 0 themselves. Another
 * process may take it before it is used; callers on a shared machine retry on a failed bind.
 */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error(`no free port on ${host}`);
  return address.port;
}
