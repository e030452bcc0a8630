import { createServer, type Server } from 'node:http';

export interface Backend {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  /** `<host>:<port>` */
  readonly endpoint: string;
  /** Requests answered so far. */
  hits: number;
  close(): Promise<void>;
}

/**
 * An HTTP server on `host`:`port` (0 = ephemeral) answering its name (body and `x-backend` header)
 * to every request: a task of a service, as the tests route to it through NGINX.
 */
export async function startBackend(name: string, host = '127.0.0.1', port = 0): Promise<Backend> {
  const server: Server = createServer((_req, res) => {
    backend.hits += 1;
    res.writeHead(200, { 'content-type': 'text/plain', 'x-backend': name });
    res.end(name);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  const backend: Backend = {
    name,
    host,
    port: address.port,
    endpoint: `${host}:${address.port}`,
    hits: 0,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return backend;
}
