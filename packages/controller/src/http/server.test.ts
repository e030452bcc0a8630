import { Agent, request } from 'node:http';
import type { Logger } from '@ecs-ingress/types';
import { Gauge } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createMetrics, type Metrics } from './metrics.js';
import { type HttpServer, type ProbeResult, type StatusProvider, startHttpServer } from './server.js';

interface LogLine {
  level: string;
  fields: Record<string, unknown>;
  msg: string | undefined;
}

/** A Logger that records every line, children included (bindings merged into the fields). */
function recordingLogger(
  lines: LogLine[] = [],
  bindings: Record<string, unknown> = {},
): Logger & { lines: LogLine[] } {
  const at =
    (level: string) =>
    (first: Record<string, unknown> | string, msg?: string): void => {
      if (typeof first === 'string') lines.push({ level, fields: { ...bindings }, msg: first });
      else lines.push({ level, fields: { ...bindings, ...first }, msg });
    };
  return {
    lines,
    trace: at('trace'),
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    fatal: at('fatal'),
    child: (more) => recordingLogger(lines, { ...bindings, ...more }),
  };
}

function fakeStatus(overrides: Partial<StatusProvider> = {}): StatusProvider {
  return {
    healthz: () => ({ ok: true, details: { nginxMaster: 'alive' } }),
    readyz: () => ({ ok: true, details: { firstSync: true, applied: 'abc123' } }),
    debugState: () => ({ tasks: [{ arn: 'arn:task/1', admitted: true, reason: 'running-no-healthcheck' }] }),
    debugUpstreams: () => 'upstream web {\n    server 10.0.0.1:8080;\n}\n',
    ...overrides,
  };
}

const servers: HttpServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function start(
  status: StatusProvider = fakeStatus(),
  metrics: Metrics = createMetrics({ defaults: false }),
) {
  const logger = recordingLogger();
  const server = await startHttpServer({ host: '127.0.0.1', port: 0, metrics, status, logger });
  servers.push(server);
  return { server, logger, metrics };
}

describe('startHttpServer routes', () => {
  it.each([
    ['/metrics', 200, 'text/plain; version=0.0.4; charset=utf-8', 'ecs_ingress_nginx_reloads_total'],
    ['/healthz', 200, 'application/json; charset=utf-8', '"nginxMaster":"alive"'],
    ['/readyz', 200, 'application/json; charset=utf-8', '"applied":"abc123"'],
    ['/debug/state', 200, 'application/json; charset=utf-8', '"reason": "running-no-healthcheck"'],
    ['/debug/upstreams', 200, 'text/plain; charset=utf-8', 'server 10.0.0.1:8080;'],
    [
      '/metrics?name[]=x',
      200,
      'text/plain; version=0.0.4; charset=utf-8',
      '# TYPE ecs_ingress_upstreams gauge',
    ],
    ['/nope', 404, 'text/plain; charset=utf-8', 'not found'],
    ['/metrics/', 404, 'text/plain; charset=utf-8', 'not found'],
  ])('GET %s → %i %s', async (path, status, contentType, fragment) => {
    const { server } = await start();
    const res = await fetch(`${server.url}${path}`);
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toBe(contentType);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(await res.text()).toContain(fragment);
  });

  it.each([
    ['probes', ['/metrics', '/healthz', '/readyz'], ['/debug/state', '/debug/upstreams']],
    ['debug', ['/debug/state', '/debug/upstreams'], ['/metrics', '/healthz', '/readyz']],
  ] as const)('a %s listener serves only its routes', async (endpoints, served, notServed) => {
    const server = await startHttpServer({
      host: '127.0.0.1',
      port: 0,
      endpoints,
      debugElsewhere: 'the debug endpoints listen on 127.0.0.1:10256 (ECS_INGRESS_DEBUG_LISTEN)',
      metrics: createMetrics({ defaults: false }),
      status: fakeStatus(),
    });
    servers.push(server);
    for (const path of served) expect((await fetch(`${server.url}${path}`)).status, path).toBe(200);
    for (const path of notServed) {
      const res = await fetch(`${server.url}${path}`);
      expect(res.status, path).toBe(404);
      // The probes listener says where the debug endpoints went.
      if (path.startsWith('/debug/')) expect(await res.text()).toContain('ECS_INGRESS_DEBUG_LISTEN');
    }
  });

  it('/metrics uses the registry’s own content type', async () => {
    const { server, metrics } = await start();
    const res = await fetch(`${server.url}/metrics`);
    expect(res.headers.get('content-type')).toBe(metrics.registry.contentType);
  });

  it.each([
    ['healthz', { ok: false, details: { nginxMaster: 'exited', exitCode: 1 } }],
    ['readyz', { ok: false, details: { firstSync: false } }],
  ] as const)('/%s answers 503 with the details when not ok', async (probe, result: ProbeResult) => {
    const { server } = await start(fakeStatus({ [probe]: () => result }));
    const res = await fetch(`${server.url}/${probe}`);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual(result);
  });

  it('accepts async providers', async () => {
    const { server } = await start(
      fakeStatus({
        readyz: async () => ({ ok: true, details: { async: true } }),
        debugUpstreams: async () => 'upstream async {}\n',
      }),
    );
    expect(await (await fetch(`${server.url}/readyz`)).json()).toEqual({
      ok: true,
      details: { async: true },
    });
    expect(await (await fetch(`${server.url}/debug/upstreams`)).text()).toBe('upstream async {}\n');
  });

  it('/debug/state turns Maps, Sets and bigints into JSON', async () => {
    const { server } = await start(
      fakeStatus({
        debugState: () => ({
          tasks: new Map([['arn:1', { reason: 'awaiting-health' }]]),
          ports: new Set([80, 443]),
          version: 7n,
        }),
      }),
    );
    expect(await (await fetch(`${server.url}/debug/state`)).json()).toEqual({
      tasks: { 'arn:1': { reason: 'awaiting-health' } },
      ports: [80, 443],
      version: '7',
    });
  });

  it.each(['POST', 'PUT', 'DELETE', 'PATCH'])('%s /metrics → 405 with Allow', async (method) => {
    const { server } = await start();
    const res = await fetch(`${server.url}/metrics`, { method, body: method === 'DELETE' ? null : 'x' });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, HEAD');
  });

  it('HEAD answers the GET headers without a body', async () => {
    const { server } = await start();
    const get = await fetch(`${server.url}/debug/upstreams`);
    const getBody = await get.text();
    const head = await fetch(`${server.url}/debug/upstreams`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(Buffer.byteLength(getBody)));
    expect(await head.text()).toBe('');
  });
});

describe('a failing provider', () => {
  const boom = () => {
    throw Object.assign(new Error('store exploded'), { code: 'ECS_INGRESS_TEST_BOOM' });
  };
  it.each<[string, keyof StatusProvider, StatusProvider[keyof StatusProvider]]>([
    ['/healthz', 'healthz', boom],
    ['/readyz', 'readyz', async () => Promise.reject(new Error('async failure'))],
    ['/debug/state', 'debugState', boom],
    [
      '/debug/state',
      'debugState',
      () => {
        const cyclic: Record<string, unknown> = {};
        cyclic.self = cyclic;
        return cyclic;
      },
    ],
    ['/debug/upstreams', 'debugUpstreams', boom],
  ])('%s (%s throws) → 500, logged with a stable code, server keeps serving', async (path, method, impl) => {
    const { server, logger } = await start(fakeStatus({ [method]: impl }));
    const res = await fetch(`${server.url}${path}`);
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({
      ok: false,
      error: { code: 'ECS_INGRESS_HTTP_HANDLER_FAILED', message: `handler for ${path} failed` },
    });
    const errors = logger.lines.filter((l) => l.level === 'error');
    expect(errors).toEqual([
      expect.objectContaining({
        fields: expect.objectContaining({
          code: 'ECS_INGRESS_HTTP_HANDLER_FAILED',
          route: path,
          component: 'http',
        }),
      }),
    ]);
    expect((await fetch(`${server.url}/metrics`)).status).toBe(200);
  });

  it('a metric collect() that throws → /metrics 500', async () => {
    const metrics = createMetrics({ defaults: false });
    new Gauge({
      name: 'ecs_ingress_test_broken',
      help: 'A gauge whose collect throws.',
      registers: [metrics.registry],
      collect() {
        throw new Error('collect failed');
      },
    });
    const { server } = await start(fakeStatus(), metrics);
    expect((await fetch(`${server.url}/metrics`)).status).toBe(500);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });
});

describe('lifecycle', () => {
  it('reports the bound port in url and port', async () => {
    const { server } = await start();
    expect(server.port).toBeGreaterThan(0);
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
  });

  it('fails with ECS_INGRESS_HTTP_LISTEN_FAILED when the port is taken', async () => {
    const { server } = await start();
    await expect(
      startHttpServer({
        host: '127.0.0.1',
        port: server.port,
        metrics: createMetrics({ defaults: false }),
        status: fakeStatus(),
      }),
    ).rejects.toMatchObject({ code: 'ECS_INGRESS_HTTP_LISTEN_FAILED', cause: { code: 'EADDRINUSE' } });
  });

  it('keeps a connection alive across requests and close() ends it', async () => {
    const server = await startHttpServer({
      host: '127.0.0.1',
      port: 0,
      metrics: createMetrics({ defaults: false }),
      status: fakeStatus(),
    });
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const localPorts: number[] = [];
    const get = () =>
      new Promise<number>((resolve, reject) => {
        const req = request(`${server.url}/healthz`, { agent }, (res) => {
          localPorts.push(req.socket?.localPort ?? -1);
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', reject);
        req.end();
      });
    try {
      expect(await get()).toBe(200);
      expect(await get()).toBe(200);
      // Same client socket: the server kept the connection open between requests.
      expect(localPorts[0]).toBe(localPorts[1]);
      const closed = new Promise<void>((resolve) => {
        const socket = Object.values(agent.freeSockets).flat()[0];
        if (socket === undefined) resolve();
        else socket.once('close', () => resolve());
      });
      await server.close();
      await closed;
      await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
    } finally {
      agent.destroy();
      await server.close();
    }
  });

  it('close() is idempotent', async () => {
    const { server } = await start();
    await Promise.all([server.close(), server.close()]);
    await server.close();
  });
});
