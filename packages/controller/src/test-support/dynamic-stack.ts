/**
 * The whole apply path on loopback for the dynamic-mode integration tests and the benchmark: a
 * store (a BehaviorSubject of upstreams), the real reconciler, the dynamic (or reload) applier, a
 * supervised NGINX (nginx-runner) with Debian's NDK + Lua + stream modules, and node backends on
 * 127.0.0.x (see backend-fleet.ts) that record when each request arrived. Every time here is
 * `sharedClock()` (CLOCK_MONOTONIC, one clock for all processes), so arrival times (another
 * process) and apply/push times compare directly, with no offset estimate.
 */

import { mkdir, mkdtemp, open, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer as createNetServer, type Server as NetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NginxRunner } from '@ecs-ingress/nginx-runner';
import { renderUpstreams } from '@ecs-ingress/renderer';
import { freePort, sharedClock } from '@ecs-ingress/testkit/net';
import { nginxTestConf } from '@ecs-ingress/testkit/nginx';
import type { Upstream } from '@ecs-ingress/types';
import { BehaviorSubject } from 'rxjs';
import { DynamicControlClient } from '../dynamic/control-client.js';
import {
  createDynamicApplier,
  type DynamicApplier,
  type DynamicPushInfo,
} from '../dynamic/dynamic-applier.js';
import { isEndpointOnlyChange, renderDynamicConfig, type StreamServices } from '../dynamic/dynamic-render.js';
import { dynamicLuaDir } from '../dynamic/lua-path.js';
import { DEFAULT_ENDPOINT_DEBOUNCE } from '../dynamic/runtime-dynamic.js';
import { createConfigApplier } from '../reconciler/apply-config.js';
import { createReconciler, type Reconciler } from '../reconciler/pipeline.js';
import type { ConfigApplier, RenderedConfig } from '../reconciler/types.js';

/**
 * Test/bench only (never in the rendered production files): wraps the balancer's `balance()` in
 * each worker so every try that chose a peer also records WHEN, in µs on CLOCK_MONOTONIC read
 * through LuaJIT's FFI — the clock of `sharedClock()` (Linux CLOCK_MONOTONIC = 1, one clock for
 * every process) — in `ngx.ctx`; the log phase exports it next to the decisions. That is the
 * proxy-side "first request on the new backend": the moment NGINX's balancer picked the peer,
 * before the backend process (a busy node event loop) stamps the arrival. The rendered upstream
 * blocks call `require("ecs_ingress.balancer").balance(name)` through the module table on every
 * request, so replacing the field in init_worker is seen by all of them.
 */
const BALANCER_STAMP_LUA = `
    local ffi = require("ffi")
    pcall(ffi.cdef, "typedef struct { long tv_sec; long tv_nsec; } ecs_ingress_bench_ts;")
    pcall(ffi.cdef, "int clock_gettime(int clk_id, ecs_ingress_bench_ts *tp);")
    local C = ffi.C
    local ts = ffi.new("ecs_ingress_bench_ts")
    local floor = math.floor
    local balancer = require("ecs_ingress.balancer")
    local balance = balancer.balance
    balancer.balance = function(name)
      local ctx = ngx.ctx
      local before = ctx.ecs_ingress_decisions
      balance(name)
      if ctx.ecs_ingress_decisions == before then return end
      C.clock_gettime(1, ts)
      local us = string.format("%d", tonumber(ts.tv_sec) * 1000000 + floor(tonumber(ts.tv_nsec) / 1000))
      local previous = ctx.ecs_ingress_bench_balanced
      ctx.ecs_ingress_bench_balanced = previous == nil and us or previous .. "," .. us
    end`;

/** A TCP server that writes `name\n` to every connection and closes it. */
export async function startTcpBackend(
  name: string,
  host: string,
): Promise<{ endpoint: string; close(): Promise<void> }> {
  const server: NetServer = createNetServer((socket) => socket.end(`${name}\n`));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, resolve);
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    endpoint: `${host}:${address.port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** An `Upstream` whose servers are the given `ip:port` endpoints. */
export function upstreamOf(name: string, endpoints: readonly string[]): Upstream {
  return {
    name,
    servers: endpoints.map((endpoint) => {
      const [address = '', port = '0'] = endpoint.split(':');
      return { address, port: Number(port), taskArn: `arn:aws:ecs:test:task/${name}/${endpoint}` };
    }),
  };
}

export interface StackOptions {
  readonly mode: 'dynamic' | 'reload';
  readonly initial: readonly Upstream[];
  /** Default 2. */
  readonly workers?: number;
  /** Dynamic mode's stream file content (default none). */
  readonly streamServices?: StreamServices;
  /** Adds `stream { server { listen …; proxy_pass <service>; } }`. */
  readonly streamProxyTo?: string;
  readonly debounce?: { readonly minMs: number; readonly maxMs: number };
  /**
   * Dynamic mode: the reconciler's debounce for endpoint-only changes, as the runtime wires it
   * (default `DEFAULT_ENDPOINT_DEBOUNCE`, min 0 / max 100 ms); `false`: none, every change waits
   * `debounce` (the behaviour before the endpoint debounce existed, for before/after benchmarks).
   */
  readonly endpointDebounce?: { readonly minMs: number; readonly maxMs: number } | false;
  /** Reload spacing (the dynamic applier's, or the reconciler's in reload mode). Default 0. */
  readonly minReloadIntervalMs?: number;
}

/** One push NGINX confirmed: the version counter it answered and the lists it now holds. */
export interface VersionRecord {
  readonly version: number;
  readonly endpoints: Readonly<Record<string, readonly string[]>>;
}

/** One successful apply: when it ended and the endpoints per service it put live. */
export interface AppliedRecord {
  readonly at: number;
  readonly hash: string;
  readonly endpoints: Readonly<Record<string, readonly string[]>>;
}

function endpointsOfUpstreams(upstreams: readonly Upstream[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const upstream of upstreams)
    out[upstream.name] = upstream.servers.map((s) => `${s.address}:${s.port}`);
  return out;
}

export interface Stack {
  readonly mode: 'dynamic' | 'reload';
  readonly prefix: string;
  readonly httpPort: number;
  readonly streamPort: number | undefined;
  readonly runner: NginxRunner;
  readonly reconciler: Reconciler;
  /** Dynamic mode only. */
  readonly applier: DynamicApplier | undefined;
  readonly client: DynamicControlClient | undefined;
  /** Every confirmed push (dynamic mode). */
  readonly pushes: DynamicPushInfo[];
  /** Dynamic mode: every confirmed push with its version and endpoint lists, in order. */
  readonly versions: VersionRecord[];
  /**
   * Dynamic mode: the access log of the balancer's decisions, one line per request:
   * `<ip:port>@<live>/<used>,… <µs>,…` — per try the peer and versions, then (after a space) when
   * the balancer chose it, in µs on `sharedClock()`'s clock (BALANCER_STAMP_LUA).
   */
  readonly decisionLog: string | undefined;
  /** `sharedClock()` at the end of every successful apply (both modes), with what it applied. */
  readonly applies: AppliedRecord[];
  /** Reloads confirmed by the runner. */
  reloads(): number;
  /** Puts a new upstream set into the store; returns `sharedClock()` of the change. */
  set(upstreams: readonly Upstream[]): number;
  /** Master and current worker pids. */
  pids(): Promise<{ master: number; workers: number[] }>;
  /** Sum of VmRSS (kB) of the master and every child. */
  rssKb(): Promise<number>;
  stop(): Promise<void>;
}

/**
 * A small /proc file (status, children) read into one 8 KiB buffer. Not `readFile`: it sizes its
 * buffer by st_size, which is 0 for /proc files, so it reads in 64 KiB chunks; sampled every 25 ms
 * in the process whose latencies the churn bench measures, that external memory triggered V8
 * "external memory pressure" scavenges (--trace-gc: 3 in a 10 s dynamic run, up to 10 ms wall on
 * the loaded machine; none with this). /proc/<pid>/status is ~1.5 KiB.
 */
async function readProcFile(path: string): Promise<string> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.allocUnsafe(8192);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    return buffer.toString('utf8', 0, bytesRead);
  } finally {
    await handle.close();
  }
}

async function childrenOf(pid: number): Promise<number[]> {
  // NGINX's master is single-threaded, so its main thread's children file lists all its children
  // (Linux ≥ 3.5); scanning /proc is the fallback, far costlier when sampled every 25 ms.
  try {
    const text = await readProcFile(`/proc/${pid}/task/${pid}/children`);
    return text
      .split(' ')
      .filter((item) => item.trim() !== '')
      .map(Number)
      .sort((a, b) => a - b);
  } catch {
    // not available: scan
  }
  const out: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const status = await readFile(`/proc/${entry}/status`, 'utf8');
      if (new RegExp(`^PPid:\\s+${pid}$`, 'm').test(status)) out.push(Number(entry));
    } catch {
      // exited while we looked
    }
  }
  return out.sort((a, b) => a - b);
}

async function vmRssKb(pid: number): Promise<number> {
  try {
    const status = await readProcFile(`/proc/${pid}/status`);
    return Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1] ?? 0);
  } catch {
    return 0;
  }
}

function mainConfig(
  prefix: string,
  o: {
    httpPort: number;
    streamPort?: number;
    streamProxyTo?: string;
    workers: number;
    /** Dynamic mode: access log of every request's balancer decisions (see decisionLog). */
    decisionLog?: string;
    httpIncludes: string[];
    streamInclude: string;
  },
): string {
  return nginxTestConf({
    modules: ['lua', 'stream'],
    workers: o.workers,
    // Old workers of a reload close idle keep-alive connections at once and finish busy ones; this
    // bounds how long one with a stuck request may linger.
    main: ['worker_shutdown_timeout 10s;'],
    workerConnections: 2048,
    tempDir: join(prefix, 'tmp'),
    httpIncludes: o.httpIncludes,
    http: [
      ...(o.decisionLog === undefined
        ? []
        : [
            "  log_format ecs_ingress_decisions '$ecs_ingress_decisions $ecs_ingress_balanced';",
            `  init_worker_by_lua_block {${BALANCER_STAMP_LUA}\n  }`,
          ]),
      '  server {',
      `    listen 127.0.0.1:${o.httpPort};`,
      // One line per request: "<ip:port>@<live>/<used>" per try, from the balancer (balancer.lua
      // decisions()), then the balancer times of those tries. lua-nginx-module runs log_by_lua
      // before the access log, so the variables are set.
      ...(o.decisionLog === undefined
        ? []
        : [
            '    set $ecs_ingress_decisions "-";',
            '    set $ecs_ingress_balanced "-";',
            '    log_by_lua_block {',
            '      ngx.var.ecs_ingress_decisions = require("ecs_ingress.balancer").decisions() or "-"',
            '      ngx.var.ecs_ingress_balanced = ngx.ctx.ecs_ingress_bench_balanced or "-"',
            '    }',
            `    access_log ${o.decisionLog} ecs_ingress_decisions;`,
          ]),
      '    keepalive_requests 1000000;',
      '    proxy_http_version 1.1;',
      '    proxy_set_header Connection "";',
      // When NGINX built the upstream request (right before the balancer picks the peer), so the
      // churn analysis can judge routing by NGINX's decision rather than by the backend's stamp.
      '    proxy_set_header X-Ecs-Ingress-Sent $msec;',
      // A variable proxy_pass finds the upstream block by name at request time, so a service added
      // by a later render is routed without editing this file.
      '    location ~ ^/(?<svc>[A-Za-z0-9_.-]+)/ { proxy_pass http://$svc; }',
      '  }',
    ],
    streamIncludes: [o.streamInclude],
    ...(o.streamPort === undefined || o.streamProxyTo === undefined
      ? {}
      : { stream: `  server { listen 127.0.0.1:${o.streamPort}; proxy_pass ${o.streamProxyTo}; }` }),
  });
}

export async function startStack(options: StackOptions): Promise<Stack> {
  const prefix = await mkdtemp(join(tmpdir(), 'ecs-ingress-dynstack-'));
  await mkdir(join(prefix, 'tmp'), { recursive: true });
  const httpPort = await freePort();
  const controlPort = await freePort();
  const streamPort = options.streamProxyTo === undefined ? undefined : await freePort();
  const files = {
    http: join(prefix, 'upstreams.conf'),
    preamble: join(prefix, 'ecs-ingress-dynamic.conf'),
    stream: join(prefix, 'stream-upstreams.conf'),
  };
  const dynamic = options.mode === 'dynamic';
  const configFile = join(prefix, 'nginx.conf');
  const decisionLog = dynamic ? join(prefix, 'decisions.log') : undefined;
  await writeFile(
    configFile,
    mainConfig(prefix, {
      httpPort,
      ...(streamPort === undefined ? {} : { streamPort }),
      ...(options.streamProxyTo === undefined ? {} : { streamProxyTo: options.streamProxyTo }),
      workers: options.workers ?? 2,
      ...(decisionLog === undefined ? {} : { decisionLog }),
      // Reload mode: the ancestor's single file, valid in both contexts.
      httpIncludes: dynamic ? [files.preamble, files.http] : [files.http],
      streamInclude: dynamic ? files.stream : files.http,
    }),
  );

  const runner = new NginxRunner({ prefix, configFile, stopTimeoutMs: 5_000 });
  let reloads = 0;
  runner.onEvent((event) => {
    if (event.type === 'reloaded') reloads += 1;
  });
  const controlUrl = `http://127.0.0.1:${controlPort}`;
  const client = dynamic ? new DynamicControlClient({ endpoint: controlUrl }) : undefined;
  const pushes: DynamicPushInfo[] = [];
  const applies: AppliedRecord[] = [];
  const versions: VersionRecord[] = [];
  // Records which endpoint lists each version counter stands for, so routing can be judged by the
  // version a balancer decision used rather than by clocks.
  const recordingClient =
    client === undefined
      ? undefined
      : {
          async pushEndpoints(services: Readonly<Record<string, readonly string[]>>) {
            const answer = await client.pushEndpoints(services);
            versions.push({ version: answer.version, endpoints: { ...services } });
            return answer;
          },
        };

  const render = (upstreams: readonly Upstream[]): RenderedConfig => {
    if (dynamic) {
      return renderDynamicConfig(upstreams, {
        httpUpstreamsFile: files.http,
        preambleFile: files.preamble,
        streamUpstreamsFile: files.stream,
        controlListen: `127.0.0.1:${controlPort}`,
        luaPackagePath: dynamicLuaDir(),
        ...(options.streamServices === undefined ? {} : { streamServices: options.streamServices }),
        keepalive: 16,
      });
    }
    const result = renderUpstreams(upstreams);
    return { hash: result.hash, files: [{ path: files.http, content: result.text }], meta: { upstreams } };
  };

  const applier =
    recordingClient === undefined
      ? undefined
      : createDynamicApplier({
          target: runner,
          client: recordingClient,
          runner,
          minReloadIntervalMs: options.minReloadIntervalMs ?? 0,
          onPushed: (info) => pushes.push(info),
          now: sharedClock,
        });
  const inner: ConfigApplier = applier ?? createConfigApplier({ target: runner });
  const recording: ConfigApplier = {
    async apply(config, context) {
      const result = await inner.apply(config, context);
      if (result.ok) {
        const meta = config.meta as { upstreams: readonly Upstream[] };
        applies.push({
          at: sharedClock(),
          hash: config.hash,
          endpoints: endpointsOfUpstreams(meta.upstreams),
        });
      }
      return result;
    },
  };

  // First render written and tested before NGINX starts, as the runtime does.
  const initial = render(options.initial);
  await runner.writeFiles(initial.files);
  const test = await runner.test();
  if (!test.ok) throw new Error(`nginx -t failed: ${test.errors.join('\n')}`);
  await runner.commit();
  applier?.setInitial(initial);
  await runner.start();
  await applier?.whenReady();

  const state$ = new BehaviorSubject<readonly Upstream[]>(options.initial);
  const reconciler = createReconciler({
    state$,
    render,
    applier: recording,
    debounce: options.debounce ?? { minMs: 5, maxMs: 50 },
    // As the runtime wires dynamic mode (runtime-dynamic.ts): endpoint-only changes are pushed on
    // the next tick, structural ones keep `debounce`.
    ...(dynamic && options.endpointDebounce !== false
      ? {
          quickChange: {
            isQuick: isEndpointOnlyChange,
            debounce: { ...(options.endpointDebounce ?? DEFAULT_ENDPOINT_DEBOUNCE) },
          },
        }
      : {}),
    // Dynamic mode: the applier spaces reloads (the reconciler's spacing would delay pushes too).
    minReloadIntervalMs: dynamic ? 0 : (options.minReloadIntervalMs ?? 0),
  });
  reconciler.setInitialApplied(initial.hash, initial.meta);

  return {
    mode: options.mode,
    prefix,
    httpPort,
    streamPort,
    runner,
    reconciler,
    applier,
    client,
    pushes,
    versions,
    decisionLog,
    applies,
    reloads: () => reloads,
    set(upstreams) {
      const at = sharedClock();
      state$.next(upstreams);
      return at;
    },
    async pids() {
      const master = runner.masterPid ?? 0;
      return { master, workers: await childrenOf(master) };
    },
    async rssKb() {
      const master = runner.masterPid;
      if (master === undefined) return 0;
      const pids = [master, ...(await childrenOf(master))];
      const sizes = await Promise.all(pids.map(vmRssKb));
      return sizes.reduce((a, b) => a + b, 0);
    },
    async stop() {
      await reconciler.stop();
      applier?.close();
      await runner.stop();
      state$.complete();
      await rm(prefix, { recursive: true, force: true });
    },
  };
}
