import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { ep, up } from '@ecs-ingress/testkit';
import { freePort } from '@ecs-ingress/testkit/net';
import { hasNginx, NGINX_BINARY, nginxTest, type TempPrefix, tempPrefix } from '@ecs-ingress/testkit/nginx';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { renderDynamicHttpPreamble, renderDynamicHttpUpstreams } from './dynamic.js';
import { renderUpstreams } from './render-upstreams.js';

if (!hasNginx) console.warn('SKIPPED: /usr/sbin/nginx is absent, the dynamic-mode nginx tests do not run');

/**
 * Stub Lua modules with the interface the real ones must have (packages/controller/lua; the
 * controller's integration tests run the rendered files with those). The balancer routes to the one
 * `ip:port` stored under the upstream name and has no-op filters; the control handler stores
 * `<name> <ip:port>` bodies for the names given to init(), which loads the balancer like the real
 * one. Just enough to prove the rendered files wire NGINX, the shared dict and the modules together.
 */
const STUB_BALANCER = `
local balancer = require("ngx.balancer")
local M = {}
function M.balance(name)
  local peer = ngx.shared.ecs_ingress_endpoints:get(name)
  if peer then
    local host, port = peer:match("^([%d.]+):(%d+)$")
    assert(balancer.set_current_peer(host, tonumber(port)))
  end
end
function M.header_filter() ngx.header["X-Stub-Filter"] = "1" end
function M.body_filter() end
return M
`;
const STUB_CONTROL = `
local M = {}
local known = {}
function M.init(names)
  for _, name in ipairs(names) do known[name] = true end
  require("ecs_ingress.balancer")
end
function M.handle()
  ngx.req.read_body()
  local name, peer = (ngx.req.get_body_data() or ""):match("^(%S+) (%S+)$")
  if not name or not known[name] then return ngx.exit(400) end
  ngx.shared.ecs_ingress_endpoints:set(name, peer)
  ngx.say("stored ", name)
end
return M
`;

const prefixes: TempPrefix[] = [];
let nginx: ChildProcess | undefined;

afterEach(async () => {
  await stopNginx();
});
afterAll(() => {
  for (const prefix of prefixes) prefix.dispose();
});

async function stopNginx(): Promise<void> {
  const child = nginx;
  nginx = undefined;
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM'); // fast shutdown: the master stops its workers before exiting
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

interface Setup {
  readonly prefix: TempPrefix;
  readonly confPath: string;
  readonly ports: { front: number; control: number; backend: number };
}

async function setup(
  options: {
    modules?: ('balancer' | 'control')[];
    controlListen?: string;
    /** Rewrites the rendered dynamic upstreams file (to prove a test can fail). */
    editUpstreams?: (text: string) => string;
  } = {},
): Promise<Setup> {
  const prefix = tempPrefix('dynamic');
  prefixes.push(prefix);
  const modules = options.modules ?? ['balancer', 'control'];
  if (modules.includes('balancer')) prefix.write('lua/ecs_ingress/balancer.lua', STUB_BALANCER);
  if (modules.includes('control')) prefix.write('lua/ecs_ingress/control.lua', STUB_CONTROL);
  const ports = { front: await freePort(), control: await freePort(), backend: await freePort() };

  const preamble = prefix.write(
    'ecs-ingress-dynamic.conf',
    renderDynamicHttpPreamble(['web', 'api'], {
      controlListen: options.controlListen ?? `127.0.0.1:${ports.control}`,
      luaPackagePath: `${prefix.dir}/lua`,
      dictSize: '1m',
    }),
  );
  const rendered = renderDynamicHttpUpstreams(['web', 'api']).text;
  const httpUpstreams = prefix.write('upstreams.conf', options.editUpstreams?.(rendered) ?? rendered);
  const streamUpstreams = prefix.write(
    'stream-upstreams.conf',
    renderUpstreams([up('web', ep('127.0.0.1', ports.backend)), up('api')]).text,
  );
  const conf = prefix.conf({
    modules: ['lua', 'stream'],
    main: ['daemon off;'],
    workerConnections: 64,
    httpIncludes: [preamble, httpUpstreams],
    http: [
      '  server {',
      `    listen 127.0.0.1:${ports.front};`,
      '    location /web/ { proxy_pass http://web; proxy_http_version 1.1; proxy_set_header Connection ""; }',
      '    location /api/ { proxy_pass http://api; }',
      '  }',
      '  server {',
      `    listen 127.0.0.1:${ports.backend};`,
      '    location / { return 200 "backend $connection\\n"; }',
      '  }',
    ],
    streamIncludes: [streamUpstreams],
    stream: `  server { listen 127.0.0.1:${await freePort()}; proxy_pass web; }`,
  });
  return { prefix, confPath: prefix.write('nginx.conf', conf), ports };
}

async function startNginx(s: Setup): Promise<void> {
  nginx = spawn(
    NGINX_BINARY,
    ['-p', `${s.prefix.dir}/`, '-c', s.confPath, '-e', `${s.prefix.dir}/error.log`],
    {
      stdio: 'ignore',
    },
  );
  // Bounded wait for the front server to answer (at most 100 × 50 ms).
  for (let attempt = 0; attempt < 100; attempt++) {
    try {
      await fetch(`http://127.0.0.1:${s.ports.front}/`);
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  throw new Error(`nginx did not start:\n${readFileSync(`${s.prefix.dir}/error.log`, 'utf8')}`);
}

describe.skipIf(!hasNginx)('dynamic-mode files with real NGINX and the Lua module', () => {
  it('pass nginx -t (preamble + dynamic http upstreams + stream upstreams)', async () => {
    const s = await setup();
    const result = nginxTest(s.prefix.dir, s.confPath);
    expect(result.output).toContain('test is successful');
    expect(result.ok).toBe(true);
  });

  it('pass nginx -t with a unix-socket control server', async () => {
    const sockets = tempPrefix('sock');
    prefixes.push(sockets);
    const s = await setup({ controlListen: `unix:${sockets.dir}/control.sock` });
    expect(nginxTest(s.prefix.dir, s.confPath).ok).toBe(true);
  });

  // init_by_lua does not run under `nginx -t`; the preload makes NGINX refuse to start instead.
  it.each([['balancer'], ['control']] as const)(
    'refuse to start when only the %s module exists',
    async (present) => {
      const s = await setup({ modules: [present] });
      const result = spawnSync(
        NGINX_BINARY,
        ['-p', `${s.prefix.dir}/`, '-c', s.confPath, '-e', `${s.prefix.dir}/error.log`],
        {
          encoding: 'utf8',
          timeout: 10_000,
        },
      );
      expect(result.status).toBe(1);
      const missing = present === 'balancer' ? 'control' : 'balancer';
      expect(result.stderr).toContain(`module 'ecs_ingress.${missing}' not found`);
    },
  );

  it('route through the balancer once the control endpoint stored an endpoint, without a reload', async () => {
    const s = await setup();
    await startNginx(s);
    const front = `http://127.0.0.1:${s.ports.front}`;

    // No endpoint yet: the balancer sets no peer and the `down` placeholder makes it a 502.
    expect((await fetch(`${front}/web/`)).status).toBe(502);
    await storeEndpoint(s, 'web');

    for (let i = 0; i < 3; i++) {
      const response = await fetch(`${front}/web/`);
      expect(response.status).toBe(200);
      expect(await response.text()).toMatch(/^backend \d+\n$/);
    }
    expect((await fetch(`${front}/api/`)).status).toBe(502);
    // The http-level header filter of the preamble runs for proxied responses.
    expect((await fetch(`${front}/web/`)).headers.get('x-stub-filter')).toBe('1');
    // Only the control location exists on the control server.
    expect((await fetch(`http://127.0.0.1:${s.ports.control}/`)).status).toBe(404);
  });

  // The backend answers with its connection number: equal numbers mean the upstream connection
  // was reused, i.e. `keepalive` took effect.
  it.each([
    { title: 'after the balancer block (as rendered): reused', edit: undefined, reused: true },
    { title: 'before the balancer block: silently lost', edit: moveKeepaliveFirst, reused: false },
  ])('upstream keepalive $title', async ({ edit, reused }) => {
    const s = await setup(edit === undefined ? {} : { editUpstreams: edit });
    await startNginx(s);
    await storeEndpoint(s, 'web');
    const connections = new Set<string>();
    for (let i = 0; i < 4; i++) {
      connections.add(await (await fetch(`http://127.0.0.1:${s.ports.front}/web/`)).text());
    }
    expect(connections.size === 1).toBe(reused);
  });
});

async function storeEndpoint(s: Setup, name: string): Promise<void> {
  const stored = await fetch(`http://127.0.0.1:${s.ports.control}/endpoints`, {
    method: 'POST',
    body: `${name} 127.0.0.1:${s.ports.backend}`,
  });
  expect(await stored.text()).toBe(`stored ${name}\n`);
}

function moveKeepaliveFirst(text: string): string {
  return text.replace(/( {2}server 0\.0\.0\.1:1 down;\n)([\s\S]*?)( {2}keepalive \d+;\n)/g, '$1$3$2');
}
