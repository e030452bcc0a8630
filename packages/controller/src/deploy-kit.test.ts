/**
 * The deploy kit (deploy/**) checked against the real tools and against the code:
 * - the example NGINX bundle passes the real `nginx -t` and, started for real on loopback,
 *   behaves as its comments promise (444, 403, 405, headers, gzip, websocket, TCP);
 * - the Dockerfile, the ECS task definition and the CloudFormation template have the structure a
 *   DAEMON deployment needs (CFN short tags parsed with the `yaml` package);
 * - the IAM policy grants every AWS operation the controller calls (found by scanning
 *   packages/controller/src) and nothing beyond a documented list;
 * - the Prometheus rules and config pass promtool, and rules and dashboard use only metrics that
 *   createMetrics() defines.
 */

import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import {
  createServer as createHttpServer,
  request as httpRequest,
  type IncomingHttpHeaders,
} from 'node:http';
import {
  type AddressInfo,
  createServer as createNetServer,
  connect as netConnect,
  type Server,
} from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { renderHttpRoutes, renderStreamRoutes } from '@ecs-ingress/renderer';
import { findOnPath } from '@ecs-ingress/testkit/e2e';
import { freePort } from '@ecs-ingress/testkit/net';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, type Tags } from 'yaml';
import { DynamicControlClient } from './dynamic/control-client.js';
import { renderDynamic } from './dynamic/dynamic-render.js';
import { dynamicLuaDir } from './dynamic/lua-path.js';
import { createFleetMetrics } from './http/fleet-metrics.js';
import { createMetrics } from './http/metrics.js';
import { createRouteMetrics } from './http/route-metrics.js';

const SRC_DIR = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(SRC_DIR, '../../..');
const DEPLOY = join(REPO, 'deploy');
const NGINX = '/usr/sbin/nginx';

/** The ECS service names the example bundle routes to (documented at the top of its nginx.conf). */
const EXAMPLE_SERVICES = ['web', 'api', 'tcp-echo'] as const;
const UPSTREAMS_PATH = '/app/nginx/upstreams.conf';

function readDeploy(path: string): string {
  return readFileSync(join(DEPLOY, path), 'utf8');
}

/** `${NAME}`: a placeholder in the JSON files (envsubst) or a CloudFormation !Sub variable. */
function placeholder(name: string): string {
  return `\${${name}}`;
}

// ---------------------------------------------------------------------------------------------
// NGINX bundle
// ---------------------------------------------------------------------------------------------

interface UpstreamSpec {
  readonly name: string;
  /** `host:port` list; empty = the ancestor's DOWN placeholder. */
  readonly servers: readonly string[];
}

/** The ancestor's upstreams format, valid in both `http` and `stream`. */
function upstreamsFile(upstreams: readonly UpstreamSpec[]): string {
  return upstreams
    .map((u) => {
      const servers = u.servers.length === 0 ? ['127.0.0.1:80 down'] : u.servers;
      return `upstream ${u.name} {\n${servers.map((s) => `    server ${s};\n`).join('')}}\n`;
    })
    .join('');
}

interface StagedBundle {
  readonly dir: string;
  readonly conf: string;
  readonly upstreams: string;
  /** Dynamic mode's three files (deploy/bundle-dynamic), relocated into `dir`. */
  readonly dynamic: { readonly preamble: string; readonly http: string; readonly stream: string };
}

/** The paths deploy/bundle-dynamic includes: the daemon's defaults in dynamic mode. */
const DYNAMIC_PATHS = {
  preamble: '/app/nginx/ecs-ingress-dynamic.conf',
  http: '/app/nginx/upstreams.http.conf',
  stream: '/app/nginx/upstreams.stream.conf',
} as const;

/**
 * Copy deploy/bundle into a temp prefix, pointing every absolute path of the bundle (upstreams
 * include, pid, temp directories) into it; `listen` lines optionally moved to loopback ports.
 */
async function stageBundle(ports?: { http: number; tcp: number }, name = 'bundle'): Promise<StagedBundle> {
  const dir = await mkdtemp(join(tmpdir(), 'ecs-ingress-deploy-kit-'));
  const confDir = join(dir, 'conf');
  const upstreams = join(dir, 'upstreams.conf');
  const dynamic = {
    preamble: join(dir, 'ecs-ingress-dynamic.conf'),
    http: join(dir, 'upstreams.http.conf'),
    stream: join(dir, 'upstreams.stream.conf'),
  };
  // The route files the daemon writes (empty: no service publishes routes here).
  const routes = { http: join(dir, 'routes.http.conf'), stream: join(dir, 'routes.stream.conf') };
  const noRoutes = { hosts: [], tcp: [], reports: [] };
  await writeFile(routes.http, renderHttpRoutes(noRoutes, { bundleDir: dir }).text);
  await writeFile(routes.stream, renderStreamRoutes(noRoutes).text);
  const bundle = join(DEPLOY, name);
  const files = (await readdir(bundle, { recursive: true, withFileTypes: true })).filter((e) => e.isFile());
  for (const entry of files) {
    const from = join(entry.parentPath, entry.name);
    const to = join(confDir, relative(bundle, from));
    let text = await readFile(from, 'utf8');
    text = text
      .replaceAll(UPSTREAMS_PATH, upstreams)
      .replaceAll(DYNAMIC_PATHS.preamble, dynamic.preamble)
      .replaceAll(DYNAMIC_PATHS.http, dynamic.http)
      .replaceAll(DYNAMIC_PATHS.stream, dynamic.stream)
      .replaceAll('/app/nginx/routes.http.conf', routes.http)
      .replaceAll('/app/nginx/routes.stream.conf', routes.stream)
      .replaceAll('/run/nginx/', `${dir}/run/`)
      .replaceAll('/var/lib/nginx/', `${dir}/lib/`);
    if (ports) {
      text = text
        .replace(/^\s*listen\s+\[::\]:80[^;]*;\s*$/gm, '')
        .replace(/^(\s*)listen\s+80\b/gm, `$1listen 127.0.0.1:${ports.http}`)
        .replace(/^(\s*)listen\s+9000\s*;/gm, `$1listen 127.0.0.1:${ports.tcp};`);
    }
    await mkdir(dirname(to), { recursive: true });
    await writeFile(to, text);
  }
  await mkdir(join(dir, 'run'), { recursive: true });
  await mkdir(join(dir, 'lib'), { recursive: true });
  return { dir, conf: join(confDir, 'nginx.conf'), upstreams, dynamic };
}

function nginxArgs(staged: StagedBundle): string[] {
  return ['-p', `${staged.dir}/`, '-c', staged.conf, '-e', join(staged.dir, 'error.log')];
}

/** Which blocks (`http`, `stream`, ...) contain a line matching `pattern`, by brace depth. */
function enclosingBlocks(conf: string, pattern: RegExp): string[] {
  const found: string[] = [];
  const stack: string[] = [];
  for (const raw of conf.split('\n')) {
    const line = raw.replace(/#.*$/, '').trim();
    if (line === '') continue;
    if (pattern.test(line)) found.push(stack.join('/'));
    for (const opening of line.matchAll(/([\w$~^*\\.|()[\]/"'-]+)[^{};]*\{/g)) stack.push(opening[1] ?? '?');
    for (const _ of line.matchAll(/\}/g)) stack.pop();
  }
  return found;
}

describe('example NGINX bundle (deploy/bundle)', () => {
  const staged: StagedBundle[] = [];
  afterAll(async () => {
    await Promise.all(staged.map((s) => rm(s.dir, { recursive: true, force: true })));
  });

  async function stage(ports?: { http: number; tcp: number }): Promise<StagedBundle> {
    const s = await stageBundle(ports);
    staged.push(s);
    return s;
  }

  it('documents the ECS service names it expects', () => {
    const header = readDeploy('bundle/nginx.conf').split('\n').slice(0, 15).join('\n');
    for (const name of EXAMPLE_SERVICES) expect(header).toContain(name);
  });

  it('includes the upstreams file in the http and in the stream context, nowhere else', () => {
    const conf = readDeploy('bundle/nginx.conf');
    const contexts = enclosingBlocks(
      conf,
      new RegExp(`^include\\s+${UPSTREAMS_PATH.replaceAll('.', '\\.')};$`),
    );
    expect(contexts.sort()).toEqual(['http', 'stream']);
  });

  it('keeps no absolute file path the test does not relocate (except system modules)', async () => {
    const s = await stage();
    const texts = await Promise.all(
      (await readdir(dirname(s.conf), { recursive: true, withFileTypes: true }))
        .filter((e) => e.isFile())
        .map((e) => readFile(join(e.parentPath, e.name), 'utf8')),
    );
    const absolute = texts
      .flatMap((t) => t.split('\n'))
      .map((l) => l.replace(/#.*$/, ''))
      .flatMap((l) => [...l.matchAll(/(?<![\w:])\/[\w./-]+/g)].map((m) => m[0]))
      .filter((p) => p.startsWith('/') && !p.startsWith(s.dir))
      .filter((p) => !p.startsWith('/usr/lib/nginx/modules/'));
    // Location paths such as /api/ are fine: they are URIs, not files. Keep only file-like
    // directives' arguments by checking they do not look like a location prefix.
    const fileLike = absolute.filter((p) => /^\/(app|run|var|etc|tmp|usr|opt|srv|home|dev|proc)\//.test(p));
    expect(fileLike).toEqual([]);
  });

  it('passes nginx -t with an upstreams file holding the example services', async () => {
    const s = await stage();
    await writeFile(
      s.upstreams,
      upstreamsFile([
        { name: 'web', servers: ['10.0.1.10:32768', '10.0.1.11:32768'] },
        { name: 'api', servers: [] },
        { name: 'tcp-echo', servers: ['10.0.1.12:7'] },
      ]),
    );
    const result = await execa(NGINX, ['-t', ...nginxArgs(s)], { reject: false });
    expect(result.stderr).toContain('test is successful');
    expect(result.exitCode).toBe(0);
  });

  it.each(EXAMPLE_SERVICES)(
    'fails nginx -t when the upstream %s is missing (the bundle really uses it)',
    async (missing) => {
      const s = await stage();
      await writeFile(
        s.upstreams,
        upstreamsFile(
          EXAMPLE_SERVICES.filter((n) => n !== missing).map((name) => ({ name, servers: ['10.0.1.10:80'] })),
        ),
      );
      const result = await execa(NGINX, ['-t', ...nginxArgs(s)], { reject: false });
      expect(result.exitCode).not.toBe(0);
      // http: the name is taken for a host name; stream: for a host without a port.
      expect(result.stderr).toMatch(new RegExp(`(host not found|no port) in upstream "${missing}"`));
    },
  );

  it.each([
    ['server_tokens off', /^\s*server_tokens\s+off;/m],
    ['gzip on', /^\s*gzip\s+on;/m],
    ['gzip for proxied responses', /^\s*gzip_proxied\s+any;/m],
    ['gzip of JSON', /^\s*gzip_types\s[^;]*application\/json/m],
    ['worker_shutdown_timeout', /^\s*worker_shutdown_timeout\s+\d+s;/m],
    ['websocket upgrade map', /^\s*map\s+\$http_upgrade\s+\$connection_upgrade\s*\{/m],
    ['HTTP/1.1 to upstreams', /^\s*proxy_http_version\s+1\.1;/m],
    ['Connection header from the map', /^\s*proxy_set_header\s+Connection\s+\$connection_upgrade;/m],
    ['X-Forwarded-For', /^\s*proxy_set_header\s+X-Forwarded-For\s+\$proxy_add_x_forwarded_for;/m],
    ['X-Real-IP', /^\s*proxy_set_header\s+X-Real-IP\s+\$remote_addr;/m],
    ['Host', /^\s*proxy_set_header\s+Host\s+\$host;/m],
    ['X-Forwarded-Proto', /^\s*proxy_set_header\s+X-Forwarded-Proto\s+\$scheme;/m],
    ['stream module for Debian', /^\s*load_module\s+\/usr\/lib\/nginx\/modules\/ngx_stream_module\.so;/m],
    ['default server answering 444', /^\s*return\s+444;/m],
    ['405 for methods outside the allow-list', /^\s*return\s+405;/m],
  ])('the full config (nginx -T) has %s', async (_name, pattern) => {
    const s = await stage();
    await writeFile(s.upstreams, upstreamsFile(EXAMPLE_SERVICES.map((name) => ({ name, servers: [] }))));
    const result = await execa(NGINX, ['-T', ...nginxArgs(s)], { reject: false });
    expect(result.stderr).toContain('test is successful');
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(pattern);
  });
});

// ---- the bundle running for real on loopback ------------------------------------------------

interface SeenRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
}

interface Reply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

function listen(server: Server): Promise<number> {
  return new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => ok((server.address() as AddressInfo).port));
  });
}

function send(
  port: number,
  options: { host: string; path: string; method?: string; headers?: Record<string, string> },
): Promise<Reply> {
  return new Promise((ok, fail) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        path: options.path,
        method: options.method ?? 'GET',
        headers: { host: options.host, ...options.headers },
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          ok({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on('error', fail);
      },
    );
    req.on('error', fail);
    req.end();
  });
}

describe('example NGINX bundle serving on loopback', () => {
  const seen = new Map<string, SeenRequest[]>();
  const servers: Server[] = [];
  let stopNginx: (() => Promise<unknown>) | undefined;
  let staged: StagedBundle | undefined;
  let httpPort = 0;
  let tcpPort = 0;

  /** A backend that records what it received and answers JSON naming itself. */
  function backend(name: string) {
    seen.set(name, []);
    const server = createHttpServer((req, res) => {
      seen.get(name)?.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
      res.setHeader('content-type', 'application/json');
      res.setHeader('x-powered-by', 'backend');
      res.end(JSON.stringify({ backend: name, padding: 'x'.repeat(4096) }));
    });
    server.on('upgrade', (req, socket) => {
      seen.get(name)?.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
      socket.end('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
    });
    servers.push(server);
    return server;
  }

  beforeAll(async () => {
    const web = await listen(backend('web'));
    const api = await listen(backend('api'));
    const echo = createNetServer((socket) => socket.pipe(socket));
    servers.push(echo);
    const echoPort = await listen(echo);
    httpPort = await freePort();
    tcpPort = await freePort();
    staged = await stageBundle({ http: httpPort, tcp: tcpPort });
    await writeFile(
      staged.upstreams,
      upstreamsFile([
        { name: 'web', servers: [`127.0.0.1:${web}`] },
        { name: 'api', servers: [`127.0.0.1:${api}`] },
        { name: 'tcp-echo', servers: [`127.0.0.1:${echoPort}`] },
      ]),
    );
    // Default execa pipes, as the nginx-runner uses: UNIX sockets, which NGINX cannot open() by path.
    const child = execa(NGINX, [...nginxArgs(staged), '-g', 'daemon off;'], { reject: false });
    stopNginx = async () => {
      if (child.nodeChildProcess.exitCode === null) child.kill('SIGTERM');
      await child;
    };
    // Wait for the listener: bounded, 100 tries of 50 ms.
    for (let attempt = 0; attempt < 100; attempt += 1) {
      const up = await send(httpPort, { host: 'probe.invalid', path: '/nginx-health' }).then(
        (r) => r.status === 200,
        () => false,
      );
      if (up) return;
      if (child.nodeChildProcess.exitCode !== null) break;
      await new Promise((ok) => setTimeout(ok, 50));
    }
    const early = child.nodeChildProcess.exitCode !== null ? (await child).stderr : '';
    const log = await readFile(join(staged.dir, 'error.log'), 'utf8').catch(() => '');
    throw new Error(`nginx did not start: ${String(early)} ${log}`);
  });

  afterAll(async () => {
    await stopNginx?.();
    await Promise.all(servers.map((s) => new Promise((ok) => s.close(ok))));
    if (staged) await rm(staged.dir, { recursive: true, force: true });
  });

  it('proxies the site to web with the forwarding headers and keepalive-friendly Connection', async () => {
    const before = seen.get('web')?.length ?? 0;
    const reply = await send(httpPort, { host: 'app.example.com', path: '/page?q=1' });
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body.toString()).backend).toBe('web');
    expect(reply.headers.server).toBe('nginx');
    expect(reply.headers['x-powered-by']).toBeUndefined();
    const got = seen.get('web')?.[before];
    expect(got?.url).toBe('/page?q=1');
    expect(got?.headers.host).toBe('app.example.com');
    expect(got?.headers['x-real-ip']).toBe('127.0.0.1');
    expect(got?.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(got?.headers['x-forwarded-proto']).toBe('http');
    expect(got?.headers['x-request-id']).toMatch(/^[0-9a-f]{32}$/);
    // No `Connection: close` towards the upstream: the connection may be kept alive.
    expect(got?.headers.connection).toBeUndefined();
  });

  it('routes /api/ to api and compresses its JSON', async () => {
    const reply = await send(httpPort, {
      host: 'app.example.com',
      path: '/api/items',
      headers: { 'accept-encoding': 'gzip' },
    });
    expect(reply.status).toBe(200);
    expect(reply.headers['content-encoding']).toBe('gzip');
    expect(JSON.parse(gunzipSync(reply.body).toString()).backend).toBe('api');
  });

  it.each(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'])(
    'lets %s through to the API',
    async (method) => {
      const reply = await send(httpPort, { host: 'app.example.com', path: '/api/x', method });
      expect(reply.status).toBe(200);
    },
  );

  it.each(['PROPFIND', 'PURGE', 'LOCK'])('answers %s on the API with 405', async (method) => {
    const before = seen.get('api')?.length ?? 0;
    const reply = await send(httpPort, { host: 'app.example.com', path: '/api/x', method });
    expect(reply.status).toBe(405);
    expect(seen.get('api')?.length).toBe(before);
  });

  it.each([
    ['app.example.com', '/.env'],
    ['app.example.com', '/.git/config'],
    ['app.example.com', '/wp-admin/setup.php'],
    ['app.example.com', '/phpmyadmin/'],
    ['app.example.com', '/index.php'],
    ['unknown.example.net', '/.env'],
  ])('answers scanners with 403 (%s %s)', async (host, path) => {
    const reply = await send(httpPort, { host, path });
    expect(reply.status).toBe(403);
  });

  it('closes the connection without a reply for an unknown host (444)', async () => {
    await expect(send(httpPort, { host: 'unknown.example.net', path: '/' })).rejects.toThrow(
      /socket hang up|ECONNRESET/,
    );
  });

  it('passes a websocket upgrade through to web', async () => {
    const status = await new Promise<number>((ok, fail) => {
      const req = httpRequest({
        host: '127.0.0.1',
        port: httpPort,
        path: '/ws/chat',
        headers: { host: 'app.example.com', connection: 'Upgrade', upgrade: 'websocket' },
        agent: false,
      });
      req.on('upgrade', (res, socket) => {
        socket.destroy();
        ok(res.statusCode ?? 0);
      });
      req.on('response', (res) => ok(res.statusCode ?? 0));
      req.on('error', fail);
      req.end();
    });
    expect(status).toBe(101);
    const last = seen.get('web')?.at(-1);
    expect(last?.url).toBe('/ws/chat');
    expect(last?.headers.upgrade).toBe('websocket');
    expect(last?.headers.connection).toBe('upgrade');
  });

  it('proxies raw TCP to tcp-echo through the stream context', async () => {
    const echoed = await new Promise<string>((ok, fail) => {
      // NGINX closes the whole session on the client's FIN (proxy_half_close off): read first.
      const socket = netConnect(tcpPort, '127.0.0.1', () => socket.write('ping\n'));
      let data = '';
      socket.on('data', (c: Buffer) => {
        data += c.toString();
        if (data.endsWith('\n')) socket.end();
      });
      socket.on('close', () => ok(data));
      socket.on('error', fail);
    });
    expect(echoed).toBe('ping\n');
  });
});

// ---- the dynamic-mode example (deploy/bundle-dynamic), the image's default ------------------

const MODULES_DIR = '/usr/lib/nginx/modules';
const hasLua = [`${MODULES_DIR}/ndk_http_module.so`, `${MODULES_DIR}/ngx_http_lua_module.so`].every(
  existsSync,
);

/** Writes the three dynamic-mode files as the daemon renders them, with the real Lua modules' path. */
async function writeDynamicFiles(
  staged: StagedBundle,
  upstreams: readonly UpstreamSpec[],
  options: { streamServices: readonly string[]; controlPort: number },
): Promise<void> {
  const files = renderDynamic(
    upstreams.map((u) => ({
      name: u.name,
      servers: u.servers.map((hostPort, i) => {
        const [address = '', port = '0'] = hostPort.split(':');
        return { address, port: Number(port), taskArn: `arn:aws:ecs:eu-west-1:1:task/c/${u.name}${i}` };
      }),
    })),
    {
      preambleFile: staged.dynamic.preamble,
      httpUpstreamsFile: staged.dynamic.http,
      streamUpstreamsFile: staged.dynamic.stream,
      controlListen: `127.0.0.1:${options.controlPort}`,
      luaPackagePath: dynamicLuaDir(),
      streamServices: options.streamServices,
    },
  ).config.files;
  for (const file of files) await writeFile(file.path, file.content);
}

/** `ENV` value and the bundle COPY'd to /usr/share/ecs-ingress/example-bundle, from the Dockerfile. */
function imageDefaults(): { mode: string | undefined; exampleBundle: string | undefined } {
  const text = readDeploy('Dockerfile').replace(/\\\n/g, ' ');
  const mode = /\bECS_INGRESS_UPSTREAM_MODE=(\w+)/.exec(text)?.[1];
  const exampleBundle = /^COPY\s+deploy\/([\w-]+)\s+\/usr\/share\/ecs-ingress\/example-bundle\s*$/m.exec(
    text,
  )?.[1];
  return { mode, exampleBundle };
}

describe('the image default example bundle', () => {
  it('is the layout of the image default upstream mode', () => {
    const { mode, exampleBundle } = imageDefaults();
    expect(mode).toBe('dynamic');
    expect(exampleBundle).toBe('bundle-dynamic');
    const conf = readDeploy(`${exampleBundle}/nginx.conf`);
    const includes = (path: string) =>
      enclosingBlocks(conf, new RegExp(`^include\\s+${path.replaceAll('.', '\\.')};$`));
    expect(includes(DYNAMIC_PATHS.preamble)).toEqual(['http']);
    expect(includes(DYNAMIC_PATHS.http)).toEqual(['http']);
    expect(includes(DYNAMIC_PATHS.stream)).toEqual(['stream']);
    expect(includes(UPSTREAMS_PATH)).toEqual([]);
    // The preamble defines the Lua init and filters before the upstreams that use the balancer.
    expect(conf.indexOf(DYNAMIC_PATHS.preamble)).toBeLessThan(conf.indexOf(DYNAMIC_PATHS.http));
    // NDK before the Lua module, which needs it.
    expect(conf.indexOf('ndk_http_module.so')).toBeLessThan(conf.indexOf('ngx_http_lua_module.so'));
    expect(conf.split('\n').slice(0, 20).join('\n')).toContain('ECS_INGRESS_STREAM_SERVICES=tcp-echo');
  });

  it.each([
    'conf.d/00-default.conf',
    'conf.d/10-app.conf',
    'snippets/proxy-headers.conf',
    'snippets/deny-scanners.conf',
    'stream.d/tcp-echo.conf',
    'mime.types',
  ])('shares %s with the reload-mode bundle byte for byte', (path) => {
    expect(readDeploy(`bundle-dynamic/${path}`)).toBe(readDeploy(`bundle/${path}`));
  });
});

describe.skipIf(!hasLua)('example NGINX bundle for dynamic mode (deploy/bundle-dynamic)', () => {
  const staged: StagedBundle[] = [];
  afterAll(async () => {
    await Promise.all(staged.map((s) => rm(s.dir, { recursive: true, force: true })));
  });

  async function stage(): Promise<StagedBundle> {
    const s = await stageBundle(undefined, 'bundle-dynamic');
    staged.push(s);
    return s;
  }

  it('passes nginx -t with the rendered dynamic files (stream services: tcp-echo)', async () => {
    const s = await stage();
    await writeDynamicFiles(
      s,
      [
        { name: 'web', servers: ['10.0.1.10:32768'] },
        { name: 'api', servers: [] },
        { name: 'tcp-echo', servers: ['10.0.1.12:7'] },
      ],
      { streamServices: ['tcp-echo'], controlPort: 10255 },
    );
    expect(await readFile(s.dynamic.preamble, 'utf8')).toContain(
      `lua_package_path "${dynamicLuaDir()}/?.lua;;";`,
    );
    const result = await execa(NGINX, ['-t', ...nginxArgs(s)], { reject: false });
    expect(result.stderr).toContain('test is successful');
    expect(result.exitCode).toBe(0);
  });

  it('fails nginx -t when tcp-echo is not a stream service (the documented requirement)', async () => {
    const s = await stage();
    await writeDynamicFiles(
      s,
      EXAMPLE_SERVICES.map((name) => ({ name, servers: ['10.0.1.10:80'] })),
      { streamServices: [], controlPort: 10255 },
    );
    const result = await execa(NGINX, ['-t', ...nginxArgs(s)], { reject: false });
    expect(result.exitCode).not.toBe(0);
    expect(result.stderr).toMatch(/no port in upstream "tcp-echo"/);
  });

  it('serves for real: the Lua modules load, pushed endpoints route, an empty service answers 503', async () => {
    const web = createHttpServer((_req, res) => res.end('web'));
    const echo = createNetServer((socket) => socket.pipe(socket));
    const webPort = await listen(web);
    const echoPort = await listen(echo);
    const ports = { http: await freePort(), tcp: await freePort() };
    const controlPort = await freePort();
    const s = await stageBundle(ports, 'bundle-dynamic');
    staged.push(s);
    await writeDynamicFiles(
      s,
      [
        { name: 'web', servers: [] },
        { name: 'api', servers: [] },
        { name: 'tcp-echo', servers: [`127.0.0.1:${echoPort}`] },
      ],
      { streamServices: ['tcp-echo'], controlPort },
    );
    const child = execa(NGINX, [...nginxArgs(s), '-g', 'daemon off;'], { reject: false });
    try {
      const client = new DynamicControlClient({ endpoint: `http://127.0.0.1:${controlPort}` });
      // Bounded: 100 tries of 50 ms for the control server (init_by_lua ran: the modules loaded).
      let pushed = false;
      for (
        let attempt = 0;
        attempt < 100 && !pushed && child.nodeChildProcess.exitCode === null;
        attempt += 1
      ) {
        pushed = await client.pushEndpoints({ web: [`127.0.0.1:${webPort}`], api: [] }).then(
          () => true,
          () => false,
        );
        if (!pushed) await new Promise((ok) => setTimeout(ok, 50));
      }
      expect(
        pushed,
        `nginx: ${child.nodeChildProcess.exitCode === null ? 'running' : String((await child).stderr)}`,
      ).toBe(true);
      const site = await send(ports.http, { host: 'app.example.com', path: '/' });
      expect(site.status).toBe(200);
      expect(site.body.toString()).toBe('web');
      const api = await send(ports.http, { host: 'app.example.com', path: '/api/x' });
      expect(api.status).toBe(503);
      expect(api.headers['x-ecs-ingress-no-endpoints']).toBe('api');
      const ping = await new Promise<string>((ok, fail) => {
        const socket = netConnect({ host: '127.0.0.1', port: ports.tcp }, () => socket.write('ping'));
        socket.once('data', (data) => {
          ok(data.toString());
          socket.destroy();
        });
        socket.once('error', fail);
      });
      expect(ping).toBe('ping');
    } finally {
      if (child.nodeChildProcess.exitCode === null) child.kill('SIGTERM');
      await child;
      await Promise.all([web, echo].map((server) => new Promise((ok) => server.close(ok))));
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Dockerfile
// ---------------------------------------------------------------------------------------------

interface Instruction {
  readonly op: string;
  readonly args: string;
}

/** Dockerfile → instructions, continuation lines joined and comment lines dropped. */
function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#') || (line === '' && pending === '')) continue;
    const continued = line.endsWith('\\');
    pending += `${continued ? line.slice(0, -1) : line} `;
    if (continued) continue;
    const match = /^(\w+)\s+(.*)$/s.exec(pending.trim());
    if (match?.[1] && match[2] !== undefined) out.push({ op: match[1].toUpperCase(), args: match[2].trim() });
    pending = '';
  }
  return out;
}

describe('deploy/Dockerfile', () => {
  const instructions = parseDockerfile(readDeploy('Dockerfile'));
  const ops = (op: string) => instructions.filter((i) => i.op === op);
  const stageOf = (index: number) => ops('FROM').filter((f) => instructions.indexOf(f) <= index).length - 1;
  const froms = ops('FROM');
  const runtimeStart = instructions.indexOf(froms.at(-1) as Instruction);
  const runtime = instructions.slice(runtimeStart);

  it('is multi-stage on Node 24 LTS bookworm-slim', () => {
    expect(froms.length).toBeGreaterThanOrEqual(2);
    expect(froms[0]?.args).toMatch(/\bAS build$/i);
    const arg = ops('ARG').find((a) => a.args.startsWith('NODE_IMAGE='));
    expect(arg?.args).toBe('NODE_IMAGE=node:24-bookworm-slim');
    for (const from of froms) expect(from.args).toMatch(/^\$\{NODE_IMAGE\}|^node:24-bookworm-slim/);
  });

  it('builds with a frozen lockfile and deploys the controller for production', () => {
    const build = instructions.filter((i, n) => i.op === 'RUN' && stageOf(n) === 0).map((i) => i.args);
    const text = build.join('\n');
    expect(text).toContain('pnpm install --frozen-lockfile');
    expect(text).toMatch(/pnpm (run )?build/);
    expect(text).toMatch(/--filter @ecs-ingress\/controller deploy --prod/);
  });

  it.each([
    'nginx',
    'libnginx-mod-stream',
    'libnginx-mod-http-ndk',
    'libnginx-mod-http-lua',
    'lua-resty-core',
    'lua-resty-lrucache',
    'tini',
  ])('installs %s from Debian in the runtime stage', (pkg) => {
    const install = runtime
      .filter((i) => i.op === 'RUN' && /apt-get install/.test(i.args))
      .map((i) => i.args);
    expect(install.join(' ').split(/\s+/)).toContain(pkg);
  });

  it('runs as a non-root user, NGINX with only CAP_NET_BIND_SERVICE', () => {
    const user = runtime.filter((i) => i.op === 'USER').at(-1)?.args ?? 'root';
    expect(user.split(':')[0]).not.toMatch(/^(root|0)$/);
    expect(
      runtime.some(
        (i) => i.op === 'RUN' && i.args.includes('setcap cap_net_bind_service=+ep /usr/sbin/nginx'),
      ),
    ).toBe(true);
  });

  it('has tini as PID 1 starting the built CLI, run by default, dynamic upstreams', () => {
    expect(JSON.parse(ops('ENTRYPOINT').at(-1)?.args ?? 'null')).toEqual([
      'tini',
      '--',
      'node',
      '--max-semi-space-size=8',
      '--no-allocation-site-pretenuring',
      '--heap-growing-percent=50',
      '/app/controller/dist/cli/main.js',
    ]);
    expect(JSON.parse(ops('CMD').at(-1)?.args ?? 'null')).toEqual(['run']);
    expect(
      runtime
        .filter((i) => i.op === 'ENV')
        .map((i) => i.args)
        .join(' '),
    ).toMatch(/\bECS_INGRESS_UPSTREAM_MODE=dynamic\b/);
  });

  it('the entry point is where the build puts src/cli/main.ts', () => {
    const tsconfig = JSON.parse(readFileSync(join(REPO, 'packages/controller/tsconfig.build.json'), 'utf8'));
    expect(tsconfig.compilerOptions).toMatchObject({ outDir: 'dist', rootDir: 'src' });
    expect(existsSync(join(REPO, 'packages/controller/src/cli/main.ts'))).toBe(true);
    expect(
      runtime.some(
        (i) => i.op === 'COPY' && /--from=build \/out\/controller \/app\/controller$/.test(i.args),
      ),
    ).toBe(true);
  });

  it('health-checks /healthz on the metrics port', () => {
    const check = ops('HEALTHCHECK').at(-1)?.args ?? '';
    expect(check).toContain('http://127.0.0.1:10254/healthz');
    expect(check).toMatch(/^--interval=\d+s .*CMD /);
  });

  it.each(['node_modules', 'dist', '.turbo', '.git'])('.dockerignore leaves out %s', (entry) => {
    const lines = readFileSync(join(REPO, '.dockerignore'), 'utf8').split('\n');
    expect(lines).toContain(entry);
  });
});

// ---------------------------------------------------------------------------------------------
// ECS task definition and CloudFormation
// ---------------------------------------------------------------------------------------------

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const asObject = (v: Json | undefined): JsonObject =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? v : ({} as JsonObject);
const asArray = (v: Json | undefined): Json[] => (Array.isArray(v) ? v : []);

describe('deploy/ecs/task-definition.json', () => {
  const td = JSON.parse(readDeploy('ecs/task-definition.json')) as JsonObject;
  const container = asObject(asArray(td.containerDefinitions)[0]);

  it('is a host-network EC2 task with a single essential container (one per instance under DAEMON)', () => {
    expect(td.networkMode).toBe('host');
    expect(td.requiresCompatibilities).toEqual(['EC2']);
    expect(asArray(td.containerDefinitions)).toHaveLength(1);
    expect(container.essential).toBe(true);
    // A task-level cpu/memory would have to fit on every instance; the container limits suffice.
    expect(td.cpu).toBeUndefined();
    expect(td.placementConstraints).toBeUndefined();
  });

  it.each([80, 443, 10254])('maps port %i with hostPort = containerPort (host networking)', (port) => {
    const mapping = asArray(container.portMappings)
      .map(asObject)
      .find((m) => m.containerPort === port);
    expect(mapping).toMatchObject({ hostPort: port, protocol: 'tcp' });
  });

  it('logs to CloudWatch, health-checks /healthz and keeps the ancestor variable names', () => {
    const log = asObject(container.logConfiguration);
    expect(log.logDriver).toBe('awslogs');
    expect(Object.keys(asObject(log.options))).toEqual(
      expect.arrayContaining(['awslogs-group', 'awslogs-region', 'awslogs-stream-prefix']),
    );
    expect(asArray(asObject(container.healthCheck).command).join(' ')).toContain('127.0.0.1:10254/healthz');
    const env = asArray(container.environment).map((e) => asObject(e).name);
    expect(env).toEqual(
      expect.arrayContaining([
        'AWS_CLUSTER_NAME',
        'AWS_REGION',
        'NGINX_CONFIG_BUNDLE_S3_BUCKET',
        'NGINX_CONFIG_BUNDLE_S3_KEY',
        'NGINX_CONFIG_FILE_NAME',
      ]),
    );
  });
});

/** CloudFormation short-form intrinsics as the long form (`!Ref X` → `{ Ref: X }`). */
function cfnTags(): Tags {
  const fn = (name: string) => (name === 'Ref' || name === 'Condition' ? name : `Fn::${name}`);
  const names = [
    'Ref',
    'Condition',
    'Sub',
    'GetAtt',
    'If',
    'Equals',
    'Not',
    'And',
    'Or',
    'Join',
    'Select',
    'Split',
    'FindInMap',
    'Base64',
    'Cidr',
    'GetAZs',
    'ImportValue',
  ];
  return names.flatMap((name) => [
    {
      tag: `!${name}`,
      resolve: (value: string) =>
        name === 'GetAtt' ? { [fn(name)]: value.split('.') } : { [fn(name)]: value },
    },
    {
      tag: `!${name}`,
      collection: 'seq' as const,
      resolve: (seq: { toJSON(): unknown }) => ({ [fn(name)]: seq.toJSON() }),
    },
    {
      tag: `!${name}`,
      collection: 'map' as const,
      resolve: (map: { toJSON(): unknown }) => ({ [fn(name)]: map.toJSON() }),
    },
  ]) as Tags;
}

function walk(node: Json | undefined, visit: (obj: JsonObject) => void): void {
  if (Array.isArray(node)) for (const item of node) walk(item, visit);
  else if (node !== null && typeof node === 'object') {
    visit(node);
    for (const value of Object.values(node)) walk(value, visit);
  }
}

/** Every IAM action string in a policy document (or a CFN tree holding policy statements). */
function actionsIn(node: Json | undefined): string[] {
  const actions = new Set<string>();
  walk(node, (obj) => {
    if (!('Effect' in obj)) return;
    walk(obj.Action, (inner) => {
      // Both branches of a `Fn::If` inside Action.
      for (const branch of asArray(inner['Fn::If']).slice(1))
        for (const a of asArray(branch)) actions.add(String(a));
    });
    for (const a of Array.isArray(obj.Action) ? obj.Action : [obj.Action])
      if (typeof a === 'string') actions.add(a);
  });
  return [...actions].sort();
}

describe('deploy/cloudformation/ecs-ingress.yaml', () => {
  const template = parseYaml(readDeploy('cloudformation/ecs-ingress.yaml'), {
    customTags: cfnTags(),
  }) as JsonObject;
  const resources = asObject(template.Resources);
  const parameters = asObject(template.Parameters);
  const conditions = asObject(template.Conditions);
  const byType = (type: string) => Object.entries(resources).filter(([, r]) => asObject(r).Type === type);

  it('runs the daemon: an ECS service with SchedulingStrategy DAEMON on a host-network task', () => {
    const [service] = byType('AWS::ECS::Service');
    const props = asObject(asObject(service?.[1]).Properties);
    expect(props.SchedulingStrategy).toBe('DAEMON');
    expect(props.Cluster).toEqual({ Ref: 'ClusterName' });
    expect(props.DesiredCount).toBeUndefined();
    const [, task] = byType('AWS::ECS::TaskDefinition')[0] ?? [];
    const taskProps = asObject(asObject(task).Properties);
    expect(taskProps.NetworkMode).toBe('host');
    expect(taskProps.TaskRoleArn).toEqual({ 'Fn::GetAtt': ['TaskRole', 'Arn'] });
  });

  it.each([
    'ClusterName',
    'ImageUri',
    'QueueMode',
    'ConfigBundleBucket',
    'ConfigBundleKey',
    'LogRetentionDays',
  ])('has the parameter %s, documented', (name) => {
    expect(asObject(parameters[name]).Description).toEqual(expect.any(String));
  });

  it('documents every parameter and offers the queue modes per-instance and shared', () => {
    for (const [name, p] of Object.entries(parameters))
      expect(asObject(p).Description, name).toEqual(expect.any(String));
    expect(asObject(parameters.QueueMode).AllowedValues).toEqual(['per-instance', 'shared']);
    expect(conditions.IsShared).toEqual({ 'Fn::Equals': [{ Ref: 'QueueMode' }, 'shared'] });
  });

  it.each([
    ['SharedQueue', 'AWS::SQS::Queue'],
    ['SharedDeadLetterQueue', 'AWS::SQS::Queue'],
    ['SharedQueuePolicy', 'AWS::SQS::QueuePolicy'],
    ['SharedRule', 'AWS::Events::Rule'],
  ])('creates %s (%s) only in shared mode', (name, type) => {
    expect(asObject(resources[name])).toMatchObject({ Type: type, Condition: 'IsShared' });
  });

  it('dead-letters the shared queue and lets only its rule send to it', () => {
    const queue = asObject(asObject(resources.SharedQueue).Properties);
    expect(asObject(queue.RedrivePolicy)).toEqual({
      deadLetterTargetArn: { 'Fn::GetAtt': ['SharedDeadLetterQueue', 'Arn'] },
      maxReceiveCount: expect.anything(),
    });
    const statement = asObject(
      asArray(
        asObject(asObject(asObject(resources.SharedQueuePolicy).Properties).PolicyDocument).Statement,
      )[0],
    );
    expect(statement).toMatchObject({
      Effect: 'Allow',
      Principal: { Service: 'events.amazonaws.com' },
      Action: 'sqs:SendMessage',
      Condition: { ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': ['SharedRule', 'Arn'] } } },
    });
  });

  it('matches ECS task and container instance changes of the cluster only', () => {
    const pattern = asObject(asObject(asObject(resources.SharedRule).Properties).EventPattern);
    expect(pattern.source).toEqual(['aws.ecs']);
    expect(pattern['detail-type']).toEqual(['ECS Task State Change', 'ECS Container Instance State Change']);
    const arn = JSON.stringify(asObject(pattern.detail).clusterArn);
    expect(arn).toContain(`:cluster/${placeholder('ClusterName')}`);
  });

  it('refers only to parameters, resources, conditions and pseudo parameters that exist', () => {
    const refs: string[] = [];
    const atts: string[] = [];
    const conds: string[] = [];
    walk(template, (obj) => {
      if (typeof obj.Ref === 'string') refs.push(obj.Ref);
      const att = asArray(obj['Fn::GetAtt'])[0];
      if (typeof att === 'string') atts.push(att);
      const cond = asArray(obj['Fn::If'])[0];
      if (typeof cond === 'string') conds.push(cond);
      if (typeof obj.Condition === 'string') conds.push(obj.Condition);
    });
    for (const ref of refs)
      expect(ref in parameters || ref in resources || ref.startsWith('AWS::'), ref).toBe(true);
    for (const att of atts) expect(att in resources, att).toBe(true);
    for (const cond of conds) expect(cond in conditions, cond).toBe(true);
    expect(refs.length).toBeGreaterThan(10);
  });

  it('grants the task role the same actions as deploy/ecs/iam-task-role-policy.json', () => {
    const policy = JSON.parse(readDeploy('ecs/iam-task-role-policy.json')) as JsonObject;
    const policies = asObject(asObject(resources.TaskRole).Properties).Policies;
    expect(actionsIn(policies)).toEqual(actionsIn(policy));
  });

  it.skipIf(!findOnPath('cfn-lint'))('passes cfn-lint (when installed)', async () => {
    const result = await execa('cfn-lint', [join(DEPLOY, 'cloudformation/ecs-ingress.yaml')], {
      reject: false,
    });
    expect(result.stdout + result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
  });
});

// ---------------------------------------------------------------------------------------------
// IAM: every AWS call in the code is allowed, nothing else is
// ---------------------------------------------------------------------------------------------

/** `@aws-sdk/client-<svc>` → IAM service prefix. */
const IAM_PREFIX: Record<string, string> = {
  ecs: 'ecs',
  sqs: 'sqs',
  ec2: 'ec2',
  eventbridge: 'events',
  s3: 's3',
};

/** Operations authorised by an action of another name. */
const ACTION_OF_OPERATION: Record<string, string> = {
  'sqs:DeleteMessageBatch': 'sqs:DeleteMessage',
  'sqs:SendMessageBatch': 'sqs:SendMessage',
  'sqs:ChangeMessageVisibilityBatch': 'sqs:ChangeMessageVisibility',
  's3:HeadObject': 's3:GetObject',
  's3:HeadBucket': 's3:ListBucket',
  's3:ListObjectsV2': 's3:ListBucket',
};

/**
 * The actions the daemon is designed to use (DESIGN.md "Sources", issue 4 "Per-daemon queues"),
 * allowed in the policy before the code calling them has landed. Anything else in the policy
 * must be found in the code.
 */
const DESIGNED_ACTIONS: Record<string, string> = {
  'ecs:ListTasks': 'poller: cluster-wide task listing',
  'ecs:DescribeTasks': 'poller and health checks, 100 tasks a call',
  'ecs:DescribeTaskDefinition': 'poller: unseen task definitions only',
  'ecs:DescribeContainerInstances': 'poller: instance of bridge/host tasks',
  'ecs:ListServices': 'placeholder upstream for services with no task (names from the ARNs)',
  'ecs:DescribeClusters': 'cluster ARN for the event rule pattern',
  'ecs:DescribeServices': 'route seniority: createdAt of services whose labels publish routes, 10 a call',
  'ec2:DescribeInstances': 'container instance private IP',
  'sqs:CreateQueue': 'per-instance queue',
  'sqs:GetQueueUrl': 'queue lookup',
  'sqs:GetQueueAttributes': 'queue ARN and heartbeat',
  'sqs:SetQueueAttributes': 'queue policy for EventBridge',
  'sqs:ReceiveMessage': 'sqs source',
  'sqs:DeleteMessage': 'sqs source (DeleteMessageBatch)',
  'sqs:DeleteQueue': 'teardown and reaper',
  'sqs:TagQueue': 'cluster, instance and heartbeat tags',
  'sqs:ListQueueTags': 'reaper reads heartbeats',
  'sqs:ListQueues': 'reaper finds ecs-ingress-* queues',
  'events:PutRule': 'per-instance rule',
  'events:PutTargets': 'rule → queue',
  'events:RemoveTargets': 'teardown',
  'events:DeleteRule': 'teardown and reaper',
  'events:DescribeRule': 'idempotent bootstrap',
  'events:ListRules': 'reaper finds ecs-ingress-* rules',
  'events:ListTargetsByRule': 'teardown finds the targets to remove',
  'events:TagResource': 'tags on the rule (PutRule with Tags needs it)',
  'events:ListTagsForResource': 'reaper reads heartbeats',
  's3:GetObject': 'config bundle (conditional GET on ETag); fleet lease, listing and task definitions',
  's3:PutObject': 'fleet: lease (If-None-Match / If-Match), listing, shared task definitions',
};

/** Actions that AWS authorises only on Resource "*" (no resource-level permissions). */
const NO_RESOURCE_LEVEL = new Set([
  'ecs:ListTasks',
  'ecs:ListServices',
  'ecs:DescribeTaskDefinition',
  'ec2:DescribeInstances',
  'sqs:ListQueues',
  'events:ListRules',
]);

/**
 * AWS operations a source file sends: commands (and paginators) imported by value from an
 * `@aws-sdk/client-*` package and constructed (`new XCommand(`) or called (`paginateX(`).
 */
function awsOperationsIn(source: string): string[] {
  const found = new Set<string>();
  const imports = source.matchAll(
    /import\s+(type\s+)?\{([^}]*)\}\s*from\s*['"]@aws-sdk\/client-([a-z0-9-]+)['"]/g,
  );
  for (const [, typeOnly, names = '', svc = ''] of imports) {
    if (typeOnly) continue;
    for (const spec of names.split(',')) {
      const m = /^\s*(type\s+)?(\w+)(?:\s+as\s+(\w+))?\s*$/.exec(spec);
      if (!m?.[2] || m[1]) continue;
      const [imported, local] = [m[2], m[3] ?? m[2]];
      const command = /^(\w+)Command$/.exec(imported);
      const paginator = /^paginate(\w+)$/.exec(imported);
      const op = command?.[1] ?? paginator?.[1];
      const used = command ? new RegExp(`new\\s+${local}\\s*\\(`) : new RegExp(`\\b${local}\\s*\\(`);
      if (op && used.test(source)) found.add(`${svc}:${op}`);
    }
  }
  return [...found].sort();
}

function iamActionOf(operation: string): string {
  const [svc = '', op = ''] = operation.split(':');
  const prefix = IAM_PREFIX[svc];
  if (!prefix) throw new Error(`no IAM prefix known for @aws-sdk/client-${svc}: add it to IAM_PREFIX`);
  const action = `${prefix}:${op}`;
  return ACTION_OF_OPERATION[action] ?? action;
}

async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return (
    entries
      .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.test.ts'))
      .map((e) => join(e.parentPath, e.name))
      // Only what ships (tsconfig.build.json's excludes): test helpers may call anything.
      .filter((p) => {
        return !relative(dir, p).split('/').includes('test-support');
      })
  );
}

describe('deploy/ecs/iam-task-role-policy.json', () => {
  const policy = JSON.parse(readDeploy('ecs/iam-task-role-policy.json')) as JsonObject;
  const statements = asArray(policy.Statement).map(asObject);
  const granted = actionsIn(policy);

  it('the scanner finds commands and paginators, and ignores type-only and unused imports', () => {
    const sample = [
      "import { DescribeTasksCommand, ListTasksCommand as LT, paginateListServices, type ECSClient } from '@aws-sdk/client-ecs';",
      "import type { ReceiveMessageCommandOutput } from '@aws-sdk/client-sqs';",
      "import { DeleteMessageBatchCommand, SendMessageCommand } from '@aws-sdk/client-sqs';",
      'await client.send(new DescribeTasksCommand({ tasks }));',
      'await client.send(new LT({}));',
      'for await (const page of paginateListServices({ client }, {})) {}',
      'await sqs.send(new DeleteMessageBatchCommand({ Entries }));',
    ].join('\n');
    expect(awsOperationsIn(sample)).toEqual([
      'ecs:DescribeTasks',
      'ecs:ListServices',
      'ecs:ListTasks',
      'sqs:DeleteMessageBatch',
    ]);
    expect(awsOperationsIn(sample).map(iamActionOf)).toContain('sqs:DeleteMessage');
    expect(() => iamActionOf('lambda:Invoke')).toThrow(/IAM_PREFIX/);
  });

  it('allows every AWS operation the controller calls', async () => {
    const files = await sourceFiles(SRC_DIR);
    expect(files.length).toBeGreaterThan(0);
    const called = new Map<string, string>();
    for (const file of files) {
      for (const op of awsOperationsIn(await readFile(file, 'utf8')))
        called.set(iamActionOf(op), relative(REPO, file));
    }
    const missing = [...called]
      .filter(([action]) => !granted.includes(action))
      .map(([a, f]) => `${a} (${f})`);
    expect(missing).toEqual([]);
    const undocumented = [...called.keys()].filter((a) => !(a in DESIGNED_ACTIONS));
    // A new call is fine once it is in the policy; list it in DESIGNED_ACTIONS with its reason too.
    expect(undocumented).toEqual([]);
  });

  it('grants nothing beyond the designed actions, and no wildcard action', () => {
    expect(granted.filter((a) => a.includes('*'))).toEqual([]);
    expect(granted.filter((a) => !(a in DESIGNED_ACTIONS))).toEqual([]);
    expect(granted).toEqual(Object.keys(DESIGNED_ACTIONS).sort());
    for (const s of statements) {
      expect(s.Effect).toBe('Allow');
      expect(s.NotAction).toBeUndefined();
      expect(s.NotResource).toBeUndefined();
    }
  });

  it('uses Resource "*" only where AWS offers no resource-level permission', () => {
    for (const s of statements.filter((st) => st.Resource === '*')) {
      const actions = asArray(s.Action).map(String);
      expect(
        actions.filter((a) => !NO_RESOURCE_LEVEL.has(a)),
        String(s.Sid),
      ).toEqual([]);
    }
    // The ECS listings are still narrowed to the cluster by condition.
    const listing = statements.find((s) => asArray(s.Action).includes('ecs:ListTasks'));
    expect(asObject(asObject(listing?.Condition).ArnEquals)['ecs:cluster']).toMatch(
      /:cluster\/\$\{AWS_CLUSTER_NAME\}$/,
    );
  });

  it.each([
    ['sqs:', `:sqs:${placeholder('AWS_REGION')}:${placeholder('AWS_ACCOUNT_ID')}:ecs-ingress-*`],
    ['events:', `:events:${placeholder('AWS_REGION')}:${placeholder('AWS_ACCOUNT_ID')}:rule/ecs-ingress-*`],
    [
      's3:',
      `:s3:::${placeholder('NGINX_CONFIG_BUNDLE_S3_BUCKET')}/${placeholder('NGINX_CONFIG_BUNDLE_S3_KEY')}`,
      `:s3:::${placeholder('FLEET_S3_BUCKET')}/${placeholder('FLEET_S3_PREFIX')}*`,
    ],
  ])('scopes %s resources to what ecs-ingress owns', (prefix, ...suffixes) => {
    for (const s of statements) {
      const actions = asArray(s.Action).map(String);
      if (!actions.some((a) => a.startsWith(prefix)) || s.Resource === '*') continue;
      expect(
        suffixes.some((suffix) => String(s.Resource).endsWith(suffix)),
        String(s.Sid),
      ).toBe(true);
    }
  });

  it('lets the fleet write only under its prefix', () => {
    const writes = statements.filter((s) => asArray(s.Action).includes('s3:PutObject'));
    expect(writes.map((s) => s.Resource)).toEqual([
      `arn:aws:s3:::${placeholder('FLEET_S3_BUCKET')}/${placeholder('FLEET_S3_PREFIX')}*`,
    ]);
  });
});

// ---------------------------------------------------------------------------------------------
// Prometheus and Grafana
// ---------------------------------------------------------------------------------------------

/** Series names the controller exports, histogram suffixes included. */
async function exportedMetricNames(): Promise<Set<string>> {
  const metrics = createMetrics({ defaults: true });
  createRouteMetrics(metrics.registry);
  // The fleet's metrics live on the same registry in the daemon (daemon.ts).
  createFleetMetrics(metrics.registry);
  const names = new Set<string>();
  for (const m of await metrics.registry.getMetricsAsJSON()) {
    names.add(m.name);
    if (String(m.type) === 'histogram')
      for (const s of ['_bucket', '_sum', '_count']) names.add(`${m.name}${s}`);
  }
  return names;
}

/** Metric names in a PromQL expression (identifiers followed by `{`, `[` or standing alone). */
function metricNamesIn(expr: string, prefixes: readonly string[]): string[] {
  const noStrings = expr.replace(/"[^"]*"/g, '""');
  const names = [...noStrings.matchAll(/\b([a-z_:][a-z0-9_:]*)\b/g)].map((m) => m[1] ?? '');
  return names.filter((n) => prefixes.some((p) => n.startsWith(p)));
}

const promtool = findOnPath('promtool');

describe('deploy/prometheus and deploy/grafana', () => {
  const rules = parseYaml(readDeploy('prometheus/alerts.yml')) as {
    groups: { rules: { alert: string; expr: string; annotations: Record<string, string> }[] }[];
  };
  const alertRules = rules.groups.flatMap((g) => g.rules);

  it.each([
    'EcsIngressReloadFailing',
    'EcsIngressConfigStale',
    'EcsIngressNoEventsWhileTasksChange',
    'EcsIngressFallbackPolling',
    'EcsIngressNginxRestarts',
    'EcsIngressTasksUnresolved',
    'EcsIngressTasksAwaitingHealthLong',
    'EcsIngressAwsPermanentError',
    'EcsIngressSyncFailing',
  ])('has the alert %s with summary, description and runbook', (name) => {
    const rule = alertRules.find((r) => r.alert === name);
    expect(Object.keys(rule?.annotations ?? {}).sort()).toEqual(['description', 'runbook', 'summary']);
  });

  it('alerts use only metrics createMetrics() defines', async () => {
    const exported = await exportedMetricNames();
    const used = alertRules.flatMap((r) => metricNamesIn(r.expr, ['ecs_ingress_', 'process_', 'nodejs_']));
    expect(used.length).toBeGreaterThan(alertRules.length);
    expect(used.filter((n) => !exported.has(n))).toEqual([]);
  });

  it('every alert has a unit test that expects it to fire', () => {
    const tests = parseYaml(readDeploy('prometheus/alerts.test.yml')) as {
      tests: { alert_rule_test: { alertname: string; exp_alerts: unknown[] }[] }[];
    };
    const fired = new Set(
      tests.tests.flatMap((t) =>
        t.alert_rule_test.filter((a) => a.exp_alerts.length > 0).map((a) => a.alertname),
      ),
    );
    const quiet = new Set(
      tests.tests.flatMap((t) =>
        t.alert_rule_test.filter((a) => a.exp_alerts.length === 0).map((a) => a.alertname),
      ),
    );
    for (const rule of alertRules) {
      expect(fired.has(rule.alert), `${rule.alert} firing`).toBe(true);
      expect(quiet.has(rule.alert), `${rule.alert} not firing`).toBe(true);
    }
  });

  it('the dashboard queries only exported metrics and covers the main families', async () => {
    const dashboard = JSON.parse(readDeploy('grafana/ecs-ingress-dashboard.json')) as JsonObject;
    const exprs: string[] = [];
    walk(dashboard, (obj) => {
      if (typeof obj.expr === 'string') exprs.push(obj.expr);
    });
    const exported = await exportedMetricNames();
    const used = new Set(exprs.flatMap((e) => metricNamesIn(e, ['ecs_ingress_', 'process_', 'nodejs_'])));
    expect([...used].filter((n) => !exported.has(n))).toEqual([]);
    for (const family of [
      'ecs_ingress_events_received_total',
      'ecs_ingress_event_to_serving_seconds_bucket',
      'ecs_ingress_nginx_reloads_total',
      'ecs_ingress_nginx_reload_duration_seconds_bucket',
      'ecs_ingress_nginx_worker_processes',
      'ecs_ingress_upstream_servers',
      'ecs_ingress_aws_api_calls_total',
      'ecs_ingress_sqs_source_healthy',
      'ecs_ingress_source_mode',
      'ecs_ingress_bundle_applies_total',
      'ecs_ingress_aws_permanent_error',
      'ecs_ingress_routes',
      'ecs_ingress_route_invalid_total',
      'ecs_ingress_lister',
      'ecs_ingress_fleet_role',
      'ecs_ingress_fleet_snapshot_age_seconds',
      'ecs_ingress_shared_task_definitions_total',
    ]) {
      expect(used.has(family), family).toBe(true);
    }
  });

  describe.skipIf(!promtool)('promtool (Debian prometheus package)', () => {
    it.each([
      ['check rules', ['check', 'rules', 'alerts.yml']],
      ['test rules', ['test', 'rules', 'alerts.test.yml']],
      ['check config', ['check', 'config', 'prometheus.yml']],
    ])('%s passes', async (_name, args) => {
      const result = await execa(promtool as string, args, {
        cwd: join(DEPLOY, 'prometheus'),
        reject: false,
      });
      expect(result.stdout + result.stderr).toContain('SUCCESS');
      expect(result.exitCode).toBe(0);
    });
  });

  it.runIf(!promtool)('promtool is not installed: rule checks skipped (apt-get install prometheus)', () => {
    expect(promtool).toBeUndefined();
  });
});
