/**
 * Test harness for the dynamic upstream mode: a real NGINX (Debian's, with the NDK and Lua
 * modules) on 127.0.0.1 with a temporary prefix, configured by hand in the shape the renderer
 * emits (preamble + one `upstream` per service with a Lua balancer). The Lua modules come from
 * the caller (`luaDir`: the controller's `dynamicLuaDir()`), so this package needs nothing of the
 * controller; backends are `startBackend` (../net).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../net/free-port.js';
import { childPids } from '../net/processes.js';
import { NGINX_BINARY, nginxTestConf } from './nginx-conf.js';

/** The preamble line that hands the known service names to Lua (the addition to the renderer's contract). */
export function luaInitLine(services: readonly string[]): string {
  return `init_by_lua_block { require("ecs_ingress.control").init({ ${services.map((s) => `"${s}"`).join(', ')} }) }`;
}

function preamble(luaDir: string, controlPort: number, services: readonly string[]): string {
  return [
    `lua_package_path "${luaDir}/?.lua;;";`,
    'lua_shared_dict ecs_ingress_endpoints 8m;',
    luaInitLine(services),
    'header_filter_by_lua_block { require("ecs_ingress.balancer").header_filter() }',
    'body_filter_by_lua_block { require("ecs_ingress.balancer").body_filter() }',
    'server {',
    `  listen 127.0.0.1:${controlPort};`,
    '  access_log off;',
    '  location = /endpoints {',
    '    allow 127.0.0.0/8;',
    '    deny all;',
    '    client_max_body_size 1m;',
    '    client_body_buffer_size 1m;',
    '    content_by_lua_block { require("ecs_ingress.control").handle() }',
    '  }',
    '  location = /healthz { content_by_lua_block { require("ecs_ingress.control").healthz() } }',
    '  location / { return 404; }',
    '}',
    '',
  ].join('\n');
}

function upstreams(services: readonly string[], keepalive: number): string {
  return services
    .map((name) =>
      [
        `upstream ${name} {`,
        '  server 0.0.0.1:1 down;',
        `  balancer_by_lua_block { require("ecs_ingress.balancer").balance("${name}") }`,
        `  keepalive ${keepalive};`,
        '}',
        '',
      ].join('\n'),
    )
    .join('\n');
}

function mainConf(prefix: string, httpPort: number, services: readonly string[], workers: number): string {
  return nginxTestConf({
    modules: ['lua'],
    main: ['daemon off;', 'master_process on;'],
    workers,
    pid: join(prefix, 'nginx.pid'),
    errorLog: `${join(prefix, 'error.log')} info`,
    tempDir: prefix,
    httpIncludes: [join(prefix, 'ecs-ingress-dynamic.conf'), join(prefix, 'upstreams.conf')],
    http: [
      '  server {',
      `    listen 127.0.0.1:${httpPort};`,
      // Upstream keepalive needs HTTP/1.1 and no "Connection: close" towards the backends.
      '    proxy_http_version 1.1;',
      '    proxy_set_header Connection "";',
      ...services.map((name) => `    location /${name}/ { proxy_pass http://${name}; }`),
      '  }',
    ],
  });
}

export interface DynamicNginx {
  readonly prefix: string;
  readonly httpPort: number;
  readonly controlPort: number;
  /** `http://127.0.0.1:<controlPort>` */
  readonly controlUrl: string;
  masterPid(): Promise<number>;
  /** PIDs of the master's current child processes (the workers). */
  workerPids(): Promise<number[]>;
  /** Rewrites the config for a new service set, reloads (SIGHUP), waits until only new workers remain. */
  reload(services: readonly string[]): Promise<void>;
  errorLog(): Promise<string>;
  preambleText(): Promise<string>;
  stop(): Promise<void>;
}

export async function startDynamicNginx(options: {
  services: readonly string[];
  /** The directory of the `ecs_ingress/*.lua` modules (the controller's `dynamicLuaDir()`). */
  luaDir: string;
  workers?: number;
  keepalive?: number;
}): Promise<DynamicNginx> {
  const workers = options.workers ?? 2;
  const keepalive = options.keepalive ?? 8;
  const prefix = await mkdtemp(join(tmpdir(), 'ecs-ingress-dyn-'));
  // Ports are picked then released, so another test could grab one in between: retry a few times.
  for (let attempt = 1; attempt <= 3; attempt += 1) {
    const httpPort = await freePort();
    const controlPort = await freePort();
    const write = async (services: readonly string[]) => {
      await writeFile(
        join(prefix, 'ecs-ingress-dynamic.conf'),
        preamble(options.luaDir, controlPort, services),
      );
      await writeFile(join(prefix, 'upstreams.conf'), upstreams(services, keepalive));
      await writeFile(join(prefix, 'nginx.conf'), mainConf(prefix, httpPort, services, workers));
    };
    await write(options.services);
    const child: ChildProcess = spawn(NGINX_BINARY, ['-p', prefix, '-c', join(prefix, 'nginx.conf')], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    let exited = false;
    const exit = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    void exit.then(() => {
      exited = true;
    });
    const controlUrl = `http://127.0.0.1:${controlPort}`;
    let ready = false;
    for (let i = 0; i < 250 && !exited; i += 1) {
      try {
        const res = await fetch(`${controlUrl}/healthz`);
        await res.text();
        if (res.ok) {
          ready = true;
          break;
        }
      } catch {
        // not listening yet
      }
      await sleep(20);
    }
    if (!ready) {
      child.kill('SIGKILL');
      await exit;
      if (attempt < 3 && /Address already in use/.test(stderr)) continue;
      await rm(prefix, { recursive: true, force: true });
      throw new Error(`nginx did not start: ${stderr}`);
    }
    const masterPid = child.pid ?? 0;
    const nginx: DynamicNginx = {
      prefix,
      httpPort,
      controlPort,
      controlUrl,
      masterPid: async () => Number((await readFile(join(prefix, 'nginx.pid'), 'utf8')).trim()),
      workerPids: async () => childPids(masterPid),
      async reload(services) {
        const before = new Set(childPids(masterPid));
        await write(services);
        process.kill(masterPid, 'SIGHUP');
        for (let i = 0; i < 250; i += 1) {
          await sleep(20);
          const now = childPids(masterPid);
          const fresh = now.filter((pid) => !before.has(pid));
          // NGINX tells old workers to quit about 100 ms after starting new ones and they keep
          // accepting until then; wait until they are gone so requests see the new config.
          if (fresh.length >= workers && now.every((pid) => !before.has(pid))) return;
        }
        throw new Error(`no new worker generation after reload: ${await nginx.errorLog()}`);
      },
      errorLog: () => readFile(join(prefix, 'error.log'), 'utf8'),
      preambleText: () => readFile(join(prefix, 'ecs-ingress-dynamic.conf'), 'utf8'),
      async stop() {
        if (!exited) {
          child.kill('SIGTERM');
          const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
          await exit;
          clearTimeout(killer);
        }
        await rm(prefix, { recursive: true, force: true });
      },
    };
    return nginx;
  }
  throw new Error('unreachable');
}
