import { readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { networkInterfaces } from 'node:os';
import { type DynamicNginx, startDynamicNginx } from '@ecs-ingress/testkit/nginx';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamicControlClient } from './control-client.js';
import { dynamicLuaDir } from './lua-path.js';

async function post(nginx: DynamicNginx, body: string | Buffer): Promise<{ status: number; text: string }> {
  const res = await fetch(`${nginx.controlUrl}/endpoints`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  });
  return { status: res.status, text: await res.text() };
}

const GOOD = ['10.0.0.1:8080', '10.0.0.2:8080'];

describe('control endpoint with real NGINX: validation', () => {
  let nginx: DynamicNginx;
  let client: DynamicControlClient;

  beforeAll(async () => {
    nginx = await startDynamicNginx({ services: ['web', 'api'], workers: 1, luaDir: dynamicLuaDir() });
    client = new DynamicControlClient({ endpoint: nginx.controlUrl });
  });

  afterAll(async () => {
    await nginx?.stop();
  });

  beforeEach(async () => {
    await client.pushEndpoints({ web: GOOD, api: [] });
  });

  const longList = JSON.stringify(Array.from({ length: 10_001 }, (_, i) => `10.${i >> 8}.${i & 255}.1:80`));

  it.each([
    ['unknown service', '{"services":{"nope":["10.0.0.9:80"]}}', /unknown service nope/],
    [
      'unknown service next to a valid one',
      '{"services":{"web":["10.0.0.9:80"],"nope":[]}}',
      /unknown service/,
    ],
    ['directive injection', '{"services":{"web":["1.2.3.4:80; evil"]}}', /invalid endpoint #1 for web/],
    ['newline injection', '{"services":{"web":["1.2.3.4:80\\nserver 6.6.6.6:80"]}}', /unsupported character/],
    ['raw control character', '{"services":{"web":["1.2.3.4:80\u0000"]}}', /unsupported character/],
    ['octet above 255', '{"services":{"web":["999.1.1.1:80"]}}', /invalid endpoint/],
    ['leading zero octet', '{"services":{"web":["010.1.1.1:80"]}}', /invalid endpoint/],
    ['port 0', '{"services":{"web":["1.1.1.1:0"]}}', /invalid endpoint/],
    ['port 70000', '{"services":{"web":["1.1.1.1:70000"]}}', /invalid endpoint/],
    ['no port', '{"services":{"web":["1.1.1.1"]}}', /invalid endpoint/],
    ['host name', '{"services":{"web":["evil.example:80"]}}', /invalid endpoint/],
    ['IPv6', '{"services":{"web":["[::1]:80"]}}', /invalid endpoint/],
    ['second endpoint bad', '{"services":{"web":["1.1.1.1:80","1.1.1.1:x"]}}', /invalid endpoint #2/],
    ['duplicate endpoint', '{"services":{"web":["1.1.1.1:80","1.1.1.1:80"]}}', /duplicate endpoint/],
    ['list is a string', '{"services":{"web":"1.1.1.1:80"}}', /must be a list/],
    ['number in list', '{"services":{"web":[80]}}', /expected a string/],
    ['nested list', '{"services":{"web":[["1.1.1.1:80"]]}}', /expected a string/],
    ['object in list', '{"services":{"web":[{"a":"1.1.1.1:80"}]}}', /expected a string/],
    ['services is a list', '{"services":[["web"]]}', /must be an object/],
    ['extra nesting', '{"services":{"web":{"x":["1.1.1.1:80"]}}}', /must be a list/],
    ['extra top-level key', '{"services":{"web":[]},"admin":true}', /only top-level key/],
    ['other top-level key', '{"upstreams":{"web":[]}}', /only top-level key/],
    ['duplicate service', '{"services":{"web":[],"web":["1.1.1.1:80"]}}', /duplicate service web/],
    ['quote in name', '{"services":{"we\\"b":[]}}', /unsupported character/],
    ['escape in name', '{"services":{"w\\u0065b":[]}}', /unsupported character/],
    ['space in name', '{"services":{"w b":[]}}', /invalid service name/],
    ['brace in name', '{"services":{"web}":[]}}', /invalid service name/],
    ['malformed JSON', '{"services":{"web":["1.1.1.1:80"]', /expected/],
    ['trailing garbage', '{"services":{"web":[]}} x', /trailing data/],
    ['two documents', '{"services":{}}{"services":{}}', /trailing data/],
    ['not an object', '["web"]', /must be a JSON object/],
    ['empty body', '', /empty body/],
    ['too many endpoints', `{"services":{"web":${longList}}}`, /more than 10000 endpoints/],
  ])('rejects %s with 400 and changes nothing', async (_label, body, reason) => {
    const before = await client.getState();
    const answer = await post(nginx, body);
    expect(answer.status).toBe(400);
    expect((JSON.parse(answer.text) as { error: string }).error).toMatch(reason);
    expect(await client.getState()).toEqual(before);
  });

  it('rejects a body over 1 MiB with 413 and changes nothing', async () => {
    const before = await client.getState();
    const huge = `{"services":{"web":["${'1'.repeat(2 * 1024 * 1024)}"]}}`;
    const answer = await post(nginx, huge);
    expect(answer.status).toBe(413);
    expect(await client.getState()).toEqual(before);
  });

  it('rejects other methods with 405', async () => {
    const res = await fetch(`${nginx.controlUrl}/endpoints`, { method: 'DELETE' });
    expect(res.status).toBe(405);
    await res.text();
  });

  it('accepts whitespace-formatted JSON, replaces only listed services, bumps the version', async () => {
    const before = await client.getState();
    const body = JSON.stringify(
      { services: { api: ['192.168.0.1:1', '255.255.255.255:65535', '0.0.0.0:80'] } },
      null,
      2,
    );
    const answer = await post(nginx, body);
    expect(answer.status).toBe(200);
    const { version } = JSON.parse(answer.text) as { version: number };
    expect(version).toBe(before.version + 1);
    expect(await client.getState()).toEqual({
      version,
      services: { web: GOOD, api: ['192.168.0.1:1', '255.255.255.255:65535', '0.0.0.0:80'] },
    });
  });

  it('surfaces a rejection as a coded error with the reason', async () => {
    await expect(client.pushEndpoints({ web: ['1.2.3.4:80; evil'] })).rejects.toMatchObject({
      code: 'ECS_INGRESS_DYNAMIC_PUSH_FAILED',
      status: 400,
      retryable: false,
      reason: 'invalid endpoint #1 for web (want a.b.c.d:port, port 1-65535)',
    });
  });
});

/** Local addresses of LISTEN sockets on `port`, from /proc/net/tcp and tcp6 (hex, little-endian IPv4). */
async function listeners(port: number): Promise<string[]> {
  const out: string[] = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const text = await readFile(file, 'utf8').catch(() => '');
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      const local = fields[1];
      if (local === undefined || fields[3] !== '0A') continue;
      const [hexAddress, hexPort] = local.split(':');
      if (hexAddress === undefined || Number.parseInt(hexPort ?? '', 16) !== port) continue;
      if (hexAddress.length === 8) {
        const bytes = hexAddress.match(/../g)!.map((byte) => Number.parseInt(byte, 16));
        out.push(bytes.reverse().join('.'));
      } else {
        out.push(`ipv6:${hexAddress}`);
      }
    }
  }
  return out;
}

function tryConnect(host: string, port: number): Promise<'connected' | string> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: 2_000 });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve('timeout');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

describe('control endpoint with real NGINX: loopback only', () => {
  let nginx: DynamicNginx;

  beforeAll(async () => {
    nginx = await startDynamicNginx({ services: ['web'], workers: 1, luaDir: dynamicLuaDir() });
  });

  afterAll(async () => {
    await nginx?.stop();
  });

  it('is configured to listen on 127.0.0.1 only', async () => {
    const listens = [...(await nginx.preambleText()).matchAll(/^\s*listen\s+([^;]+);/gm)].map((m) => m[1]);
    expect(listens).toEqual([`127.0.0.1:${nginx.controlPort}`]);
  });

  it('is bound to 127.0.0.1, not a wildcard address', async () => {
    expect(await listeners(nginx.controlPort)).toEqual(['127.0.0.1']);
  });

  it.each([
    ['another loopback address', '127.0.0.2'],
    ...Object.values(networkInterfaces())
      .flat()
      .filter((info) => info !== undefined && info.family === 'IPv4' && !info.internal)
      .map((info) => ['a non-loopback interface address', info!.address] as [string, string]),
  ])('refuses connections on %s (%s)', async (_label, host) => {
    expect(await tryConnect(host, nginx.controlPort)).toBe('ECONNREFUSED');
    // The same port on 127.0.0.1 does answer, so the refusal is about the address.
    expect(await tryConnect('127.0.0.1', nginx.controlPort)).toBe('connected');
  });
});
