/**
 * Rendered routes serving real traffic: labels → resolution → rendering → a real NGINX on
 * 127.0.0.1 in front of small backends that answer their name and the path they received.
 * Host and path routing, strip and rewrite, the 308 redirect, TLS with a bundle certificate,
 * 403 by method and by allow-list (127.0.0.2 allowed, 127.0.0.3 denied), 413, gzip, a canary
 * split, WebSocket upgrades with per-route idle timeouts, and a tcp route.
 */
import { createServer as createHttpServer, request as httpRequest, type Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect, createServer as createTcpServer, type Socket, type Server as TcpServer } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { freePort } from '@ecs-ingress/testkit/net';
import { routeNginx, routeNginxAvailable } from '@ecs-ingress/testkit/nginx';
import type { Endpoint } from '@ecs-ingress/types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveRoutes, type ServiceRoutesInput } from './resolve-routes.js';

const P = 'ecs-ingress.';

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Buffer;
}

interface Ask {
  readonly host: string;
  readonly path: string;
  readonly method?: string;
  readonly body?: Buffer;
  readonly localAddress?: string;
  readonly headers?: Record<string, string>;
  readonly tls?: boolean;
}

describe.skipIf(!routeNginxAvailable)('rendered routes against real NGINX on loopback', () => {
  const nginx = routeNginx();
  const backends: Server[] = [];
  let tcpBackend: TcpServer | undefined;
  let stop: (() => Promise<void>) | undefined;
  let httpPort = 0;
  let httpsPort = 0;
  let tcpPort = 0;

  const upgraded = new Set<Socket>();

  async function backend(name: string): Promise<Endpoint> {
    const server = createHttpServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'text/plain', 'x-backend': name, 'x-path': req.url ?? '' });
        res.end(`${name} ${req.method} ${req.url} ${'padding '.repeat(20)}`);
      });
    });
    // A minimal WebSocket-style upgrade: 101, then echo whatever arrives.
    server.on('upgrade', (_req, socket: Socket) => {
      upgraded.add(socket);
      socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
      socket.on('data', (data) => socket.write(data));
      socket.on('error', () => socket.destroy());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    backends.push(server);
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    return { address: '127.0.0.1', port: address.port, taskArn: name };
  }

  function ask(options: Ask): Promise<Answer> {
    const make = options.tls ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = make(
        {
          host: '127.0.0.1',
          port: options.tls ? httpsPort : httpPort,
          path: options.path,
          method: options.method ?? 'GET',
          // A GET body goes without Content-Length in node unless it is set.
          headers: {
            host: options.host,
            ...(options.body ? { 'content-length': String(options.body.length) } : {}),
            ...options.headers,
          },
          agent: false,
          ...(options.localAddress ? { localAddress: options.localAddress } : {}),
          ...(options.tls ? { servername: options.host, rejectUnauthorized: false } : {}),
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
          );
        },
      );
      req.setTimeout(10_000, () => req.destroy(new Error('request timed out')));
      req.on('error', reject);
      req.end(options.body);
    });
  }

  beforeAll(async () => {
    [httpPort, httpsPort, tcpPort] = [await freePort(), await freePort(), await freePort()];
    const servers = new Map<string, readonly Endpoint[]>();
    for (const name of ['shop', 'shop-next', 'orders', 'orders.port-9000', 'legacy', 'ws']) {
      servers.set(name, [await backend(name)]);
    }
    tcpBackend = createTcpServer((socket) => socket.on('data', (d) => socket.end(`echo:${d}`)));
    await new Promise<void>((resolve) => tcpBackend?.listen(0, '127.0.0.1', resolve));
    const tcpAddress = tcpBackend.address();
    if (tcpAddress === null || typeof tcpAddress === 'string') throw new Error('no port');
    servers.set('db', [{ address: '127.0.0.1', port: tcpAddress.port, taskArn: 'db' }]);

    const services: ServiceRoutesInput[] = [
      {
        name: 'shop',
        createdAt: 1,
        labels: { [`${P}http.hosts`]: 'shop.example.com', [`${P}http.gzip`]: 'true' },
      },
      {
        name: 'shop-next',
        createdAt: 2,
        labels: { [`${P}http.hosts`]: 'shop.example.com', [`${P}http.canary-weight`]: '10' },
      },
      {
        name: 'orders',
        createdAt: 1,
        labels: {
          [`${P}http.hosts`]: 'api.example.com',
          [`${P}http.path`]: '/orders',
          [`${P}http.strip-prefix`]: 'true',
          [`${P}http.methods`]: 'GET',
          [`${P}http.max-body`]: '1k',
          [`${P}http.admin.hosts`]: 'api.example.com',
          [`${P}http.admin.path`]: '/admin',
          [`${P}http.admin.port`]: '9000',
          [`${P}http.admin.allow`]: '127.0.0.2',
          [`${P}http.secure.hosts`]: 'secure.example.com',
          [`${P}http.secure.tls`]: 'bundle:secure',
        },
      },
      {
        name: 'legacy',
        createdAt: 1,
        labels: {
          [`${P}http.hosts`]: 'api.example.com',
          [`${P}http.path`]: '/old',
          [`${P}http.rewrite-prefix`]: '/v2',
        },
      },
      { name: 'db', createdAt: 1, labels: { [`${P}tcp.listen`]: String(tcpPort) } },
      {
        name: 'ws',
        createdAt: 1,
        labels: {
          [`${P}http.short.hosts`]: 'ws.example.com',
          [`${P}http.short.path`]: '/short',
          [`${P}http.short.timeout`]: '1s',
          [`${P}http.long.hosts`]: 'ws.example.com',
          [`${P}http.long.path`]: '/long',
          [`${P}http.long.timeout`]: '1h',
        },
      },
    ];
    const table = resolveRoutes(services, { tcpPorts: [{ from: tcpPort, to: tcpPort }] });
    expect(table.reports.filter((r) => r.state !== 'active')).toEqual([]);
    const started = nginx.start(table, {
      servers,
      httpListen: [`127.0.0.1:${httpPort}`],
      httpsListen: [`127.0.0.1:${httpsPort}`],
      defaultServer: true,
    });
    stop = started.stop;

    // Bounded wait until NGINX answers (it binds right after start).
    for (let attempt = 0; attempt < 100; attempt += 1) {
      const answer = await ask({ host: 'shop.example.com', path: '/' }).catch(() => undefined);
      if (answer !== undefined) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  });

  afterAll(async () => {
    await stop?.();
    for (const socket of upgraded) socket.destroy();
    for (const server of backends) server.close();
    tcpBackend?.close();
    nginx.dispose();
  });

  it('routes by host and path, strips and rewrites the prefix', async () => {
    const stripped = await ask({ host: 'api.example.com', path: '/orders/42?x=1' });
    expect([stripped.status, stripped.headers['x-backend'], stripped.headers['x-path']]).toEqual([
      200,
      'orders',
      '/42?x=1',
    ]);
    const bare = await ask({ host: 'api.example.com', path: '/orders' });
    expect([bare.status, bare.headers['x-path']]).toEqual([200, '/']);
    const rewritten = await ask({ host: 'api.example.com', path: '/old/a/b' });
    expect([rewritten.headers['x-backend'], rewritten.headers['x-path']]).toEqual(['legacy', '/v2/a/b']);
    // Whole segments only: /orders-x is not the orders route (no route at / on this host).
    expect((await ask({ host: 'api.example.com', path: '/orders-x' })).status).toBe(404);
    // Another host does not reach api.example.com's routes.
    expect((await ask({ host: 'other.example.com', path: '/orders/1' })).headers['x-backend']).not.toBe(
      'orders',
    );
  });

  it('403 by method, 413 over max-body', async () => {
    expect((await ask({ host: 'api.example.com', path: '/orders/1', method: 'DELETE' })).status).toBe(403);
    expect((await ask({ host: 'api.example.com', path: '/orders/1', method: 'HEAD' })).status).toBe(200);
    const big = await ask({
      host: 'api.example.com',
      path: '/orders/1',
      method: 'GET',
      body: Buffer.alloc(4096, 97),
    });
    expect(big.status).toBe(413);
  });

  it('allow-list: 127.0.0.2 passes, 127.0.0.3 gets 403, and the port route has its own upstream', async () => {
    const allowed = await ask({ host: 'api.example.com', path: '/admin/x', localAddress: '127.0.0.2' });
    expect([allowed.status, allowed.headers['x-backend']]).toEqual([200, 'orders.port-9000']);
    expect((await ask({ host: 'api.example.com', path: '/admin/x', localAddress: '127.0.0.3' })).status).toBe(
      403,
    );
  });

  it('TLS with the bundle certificate, and 308 from http', async () => {
    const redirect = await ask({ host: 'secure.example.com', path: '/a?b=1' });
    expect(redirect.status).toBe(308);
    expect(redirect.headers.location).toBe('https://secure.example.com/a?b=1');
    const secure = await ask({ host: 'secure.example.com', path: '/a', tls: true });
    expect([secure.status, secure.headers['x-backend']]).toEqual([200, 'orders']);
  });

  it('gzip on the route that asks for it', async () => {
    const answer = await ask({
      host: 'shop.example.com',
      path: '/g',
      headers: { 'accept-encoding': 'gzip' },
    });
    expect(answer.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(answer.body).toString()).toMatch(/^(shop|shop-next) GET \/g /);
  });

  it('canary: 10 % ± 3σ of 2,000 requests go to the second service', async () => {
    let canary = 0;
    for (let i = 0; i < 2000; i += 1) {
      const answer = await ask({ host: 'shop.example.com', path: `/c${i}` });
      if (answer.headers['x-backend'] === 'shop-next') canary += 1;
    }
    const sigma = Math.sqrt(2000 * 0.1 * 0.9);
    expect(Math.abs(canary - 200)).toBeLessThanOrEqual(3 * sigma);
  });

  /** Upgrades through NGINX; resolves with the socket once the 101 arrived. */
  function upgrade(path: string): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const req = httpRequest({
        host: '127.0.0.1',
        port: httpPort,
        path,
        agent: false,
        headers: { host: 'ws.example.com', connection: 'Upgrade', upgrade: 'websocket' },
      });
      req.setTimeout(10_000, () => req.destroy(new Error('upgrade timed out')));
      req.on('upgrade', (_res, socket: Socket) => resolve(socket));
      req.on('response', (res) => reject(new Error(`no upgrade: ${res.statusCode}`)));
      req.on('error', reject);
      req.end();
    });
  }

  function echo(socket: Socket, text: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no echo within 10 s')), 10_000);
      socket.once('data', (data) => {
        clearTimeout(timer);
        resolve(String(data));
      });
      socket.write(text);
    });
  }

  it("WebSocket upgrades pass; an idle one is closed after its route timeout, not after another route's", async () => {
    const short = await upgrade('/short/socket');
    const long = await upgrade('/long/socket');
    try {
      expect(await echo(short, 'hello')).toBe('hello');
      expect(await echo(long, 'hello')).toBe('hello');
      // NGINX closes the idle upgraded connection after proxy_read_timeout (1s here); bounded wait.
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('the 1s route stayed open for 10 s')), 10_000);
        short.once('close', () => {
          clearTimeout(timer);
          resolve();
        });
        short.resume();
      });
      // The 1h route was just as idle and still works.
      expect(long.destroyed).toBe(false);
      expect(await echo(long, 'still here')).toBe('still here');
    } finally {
      short.destroy();
      long.destroy();
    }
  });

  it('a tcp route proxies to its upstream', async () => {
    const reply = await new Promise<string>((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port: tcpPort }, () => socket.write('ping'));
      let data = '';
      socket.setTimeout(10_000, () => socket.destroy(new Error('tcp timed out')));
      socket.on('data', (d) => {
        data += d;
      });
      socket.on('end', () => resolve(data));
      socket.on('error', reject);
    });
    expect(reply).toBe('echo:ping');
  });
});
