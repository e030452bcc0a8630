import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { DynamicControlClient } from './control-client.js';

interface Seen {
  method: string;
  url: string;
  body: string;
}

/** A stand-in control server on 127.0.0.1:<ephemeral> that records requests. */
async function fakeControl(
  handler: (seen: Seen, res: ServerResponse) => void,
): Promise<{ url: string; seen: Seen[]; server: Server }> {
  const seen: Seen[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const entry = { method: req.method ?? '', url: req.url ?? '', body: Buffer.concat(chunks).toString() };
      seen.push(entry);
      handler(entry, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  servers.push(server);
  return { url: `http://127.0.0.1:${address.port}`, seen, server };
}

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

describe('DynamicControlClient', () => {
  it('posts sorted, de-duplicated full lists and returns the version', async () => {
    const fake = await fakeControl((_seen, res) => json(res, 200, { version: 7 }));
    const client = new DynamicControlClient({ endpoint: fake.url });
    await expect(
      client.pushEndpoints({ web: ['10.0.0.2:80', '10.0.0.1:80', '10.0.0.2:80'], api: [] }),
    ).resolves.toEqual({
      version: 7,
    });
    expect(fake.seen).toEqual([
      {
        method: 'POST',
        url: '/endpoints',
        body: '{"services":{"web":["10.0.0.1:80","10.0.0.2:80"],"api":[]}}',
      },
    ]);
  });

  it('splits a push larger than maxBodyBytes by service, each body within the limit', async () => {
    let version = 0;
    const fake = await fakeControl((_seen, res) => json(res, 200, { version: ++version }));
    const client = new DynamicControlClient({ endpoint: fake.url, maxBodyBytes: 60 });
    const services = {
      a: ['10.0.0.1:80', '10.0.0.2:80'],
      b: ['10.0.0.3:80', '10.0.0.4:80'],
      c: ['10.0.0.5:80'],
    };
    await expect(client.pushEndpoints(services)).resolves.toEqual({ version: 3 });
    expect(fake.seen.length).toBe(3);
    const merged: Record<string, string[]> = {};
    for (const { body } of fake.seen) {
      expect(Buffer.byteLength(body)).toBeLessThanOrEqual(60);
      Object.assign(merged, (JSON.parse(body) as { services: Record<string, string[]> }).services);
    }
    expect(merged).toEqual(services);
  });

  it('refuses a single service larger than maxBodyBytes without sending anything', async () => {
    const fake = await fakeControl((_seen, res) => json(res, 200, { version: 1 }));
    const client = new DynamicControlClient({ endpoint: fake.url, maxBodyBytes: 40 });
    await expect(client.pushEndpoints({ web: ['10.0.0.1:80', '10.0.0.2:80'] })).rejects.toMatchObject({
      code: 'ECS_INGRESS_DYNAMIC_PUSH_FAILED',
      retryable: false,
    });
    expect(fake.seen).toEqual([]);
  });

  it.each([
    [400, { error: 'unknown service nope' }, 'unknown service nope', false],
    [413, { error: 'body larger than 1048576 bytes' }, 'body larger than 1048576 bytes', false],
    [500, { error: 'boom' }, 'boom', true],
    [507, { error: 'shared dict full: no memory' }, 'shared dict full: no memory', true],
  ])('maps HTTP %i to a coded error with the reason', async (status, body, reason, retryable) => {
    const fake = await fakeControl((_seen, res) => json(res, status, body));
    const client = new DynamicControlClient({ endpoint: fake.url });
    await expect(client.pushEndpoints({ web: [] })).rejects.toMatchObject({
      code: 'ECS_INGRESS_DYNAMIC_PUSH_FAILED',
      status,
      reason,
      retryable,
    });
  });

  it('times out a control server that never answers', async () => {
    const fake = await fakeControl(() => {
      // never answers
    });
    const client = new DynamicControlClient({ endpoint: fake.url, timeoutMs: 100 });
    await expect(client.pushEndpoints({ web: [] })).rejects.toMatchObject({
      code: 'ECS_INGRESS_DYNAMIC_PUSH_FAILED',
      retryable: true,
      reason: 'no answer within 100 ms',
    });
  });

  it('reports a refused connection as retryable', async () => {
    const fake = await fakeControl((_seen, res) => json(res, 200, { version: 1 }));
    const { url } = fake;
    fake.server.closeAllConnections();
    await new Promise<void>((resolve) => fake.server.close(() => resolve()));
    servers.splice(servers.indexOf(fake.server), 1);
    const client = new DynamicControlClient({ endpoint: url });
    await expect(client.pushEndpoints({ web: [] })).rejects.toMatchObject({
      code: 'ECS_INGRESS_DYNAMIC_PUSH_FAILED',
      retryable: true,
    });
  });

  it('reads the current endpoints', async () => {
    const fake = await fakeControl((_seen, res) =>
      json(res, 200, { version: 3, services: { web: ['10.0.0.1:80'] } }),
    );
    const client = new DynamicControlClient({ endpoint: fake.url });
    await expect(client.getEndpoints()).resolves.toEqual({ web: ['10.0.0.1:80'] });
    expect(fake.seen[0]).toMatchObject({ method: 'GET', url: '/endpoints' });
  });

  it('rejects a malformed answer to a query with its own code', async () => {
    const fake = await fakeControl((_seen, res) => json(res, 200, { version: 3, services: { web: 'x' } }));
    const client = new DynamicControlClient({ endpoint: fake.url });
    await expect(client.getEndpoints()).rejects.toMatchObject({ code: 'ECS_INGRESS_DYNAMIC_QUERY_FAILED' });
  });

  it.each([
    'http://10.0.0.1:8080',
    'http://0.0.0.0:8080',
    'https://127.0.0.1:8080',
    'http://127.0.0.1',
    'http://127.0.0.1:8080/other',
    'unix:relative.sock',
    'not a url',
  ])('refuses a control endpoint that is not loopback: %s', (endpoint) => {
    expect(() => new DynamicControlClient({ endpoint })).toThrow(RangeError);
  });

  it.each([
    'http://127.0.0.1:8080',
    'http://127.0.0.2:1',
    'http://[::1]:8080',
    'http://localhost:9',
    'unix:/run/x.sock',
  ])('accepts a loopback control endpoint: %s', (endpoint) => {
    expect(() => new DynamicControlClient({ endpoint })).not.toThrow();
  });

  describe('kept-alive connection', () => {
    /**
     * A control server that counts connections and, per `dropOnSocket(requestIndexOnSocket,
     * requestIndexOverall)`, closes the connection as a request arrives instead of answering (what
     * NGINX does to an idle keep-alive connection at its timeout, or a reload's old worker quitting).
     */
    async function countingControl(drop: (onSocket: number, overall: number) => boolean) {
      const state = { connections: 0, requests: 0 };
      const server = createServer((req, res) => {
        const onSocket = ((req.socket as { served?: number }).served ?? 0) + 1;
        (req.socket as { served?: number }).served = onSocket;
        state.requests++;
        if (drop(onSocket, state.requests)) {
          req.socket.destroy();
          return;
        }
        req.resume();
        req.on('end', () => json(res, 200, { version: state.requests }));
      });
      server.on('connection', () => state.connections++);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      servers.push(server);
      const address = server.address();
      if (address === null || typeof address === 'string') throw new Error('no port');
      return { url: `http://127.0.0.1:${address.port}`, state };
    }

    it('sends consecutive pushes over one connection; close() drops it', async () => {
      const fake = await countingControl(() => false);
      const client = new DynamicControlClient({ endpoint: fake.url });
      for (let i = 0; i < 3; i++) await client.pushEndpoints({ web: [`10.0.0.${i}:80`] });
      expect(fake.state).toEqual({ connections: 1, requests: 3 });
      client.close();
      await client.pushEndpoints({ web: [] });
      expect(fake.state).toEqual({ connections: 2, requests: 4 });
      client.close();
    });

    it('retries once on a fresh connection when the kept-alive one is closed under the request', async () => {
      // The second request on any connection is dropped: push 2 meets the closed socket, its
      // retry opens connection 2 (first request there) and is answered.
      const fake = await countingControl((onSocket) => onSocket === 2);
      const client = new DynamicControlClient({ endpoint: fake.url });
      await expect(client.pushEndpoints({ web: ['10.0.0.1:80'] })).resolves.toEqual({ version: 1 });
      await expect(client.pushEndpoints({ web: ['10.0.0.2:80'] })).resolves.toEqual({ version: 3 });
      expect(fake.state).toEqual({ connections: 2, requests: 3 });
      client.close();
    });

    it('does not retry more than once: a fresh connection that fails is an error', async () => {
      const fake = await countingControl((_onSocket, overall) => overall > 1);
      const client = new DynamicControlClient({ endpoint: fake.url });
      await client.pushEndpoints({ web: [] });
      await expect(client.pushEndpoints({ web: [] })).rejects.toMatchObject({
        code: 'ECS_INGRESS_DYNAMIC_PUSH_FAILED',
        retryable: true,
      });
      expect(fake.state).toEqual({ connections: 2, requests: 3 });
      client.close();
    });
  });
});
