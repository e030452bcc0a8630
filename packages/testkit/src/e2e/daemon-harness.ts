/**
 * End-to-end harness for `ecs-ingress run`: the daemon runs as a child process
 * (`node --conditions=source --import tsx …/cli/main.ts run`) with its environment pointing at the
 * fakes running in the test process (wire-level ECS/EC2/EventBridge, fauxqs for SQS), a bundle
 * directory whose nginx.conf listens on loopback, and backends on 127.0.0.x answering their name.
 */
import type { ChildProcess } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../net/free-port.js';
import { get } from '../net/http.js';
import { nginxTestConf } from '../nginx/nginx-conf.js';
import { isolatedEnv, spawnEcsIngress } from './cli-process.js';

/** The backend names answering `count` requests to `url` (non-200 answers as `<status>`). */
export async function servedBy(url: string, count = 6): Promise<string[]> {
  const names = new Set<string>();
  for (let i = 0; i < count; i++) {
    const { status, body } = await get(url);
    names.add(status === 200 ? body : `<${status}>`);
  }
  return [...names].sort();
}

export interface TestBundle {
  readonly root: string;
  readonly workDir: string;
  readonly bundleDir: string;
  readonly upstreamsFile: string;
  readonly nginxPort: number;
  /** `http://127.0.0.1:<nginxPort>` */
  readonly url: string;
  cleanup(): Promise<void>;
}

/**
 * A temp tree: `work/` (NGINX prefix, bundles, upstreams file) and `bundle/nginx.conf` routing
 * `/<service>` to upstream `<service>` for each of `services`, and including the upstreams file
 * in `http` and `stream`.
 */
/** The daemon bundles' main-context and http lines: short timeouts, so a test never waits long. */
const BUNDLE_MAIN = ['worker_shutdown_timeout 2s;'];
const BUNDLE_HTTP = ['  proxy_connect_timeout 2s;', '  proxy_next_upstream off;'];

export async function makeBundle(
  services: readonly string[],
  options: { broken?: boolean } = {},
): Promise<TestBundle> {
  return writeBundle('ecs-ingress-daemon-', ({ upstreamsFile, nginxPort }) =>
    nginxTestConf({
      modules: ['stream'],
      main: BUNDLE_MAIN,
      http: [
        ...BUNDLE_HTTP,
        `  include ${upstreamsFile};`,
        '  server {',
        `    listen 127.0.0.1:${nginxPort};`,
        ...services.map((s) => `    location /${s} { proxy_pass http://${s}; }`),
        '  }',
        ...(options.broken ? ['  this_directive_does_not_exist on;'] : []),
      ],
      streamIncludes: [upstreamsFile],
    }),
  );
}

/**
 * A temp tree like `makeBundle`'s whose http content is the route files ecs-ingress writes
 * (`routes.http.conf`, `routes.stream.conf` in the work dir), after `http`: the bundle's own lines
 * (timeouts, a server of the user's, extra directives). Generated servers listen on `nginxPort`
 * (`ECS_INGRESS_ROUTES_HTTP_LISTEN`).
 */
export async function makeRoutesBundle(
  http: (nginxPort: number) => readonly string[] = () => [],
): Promise<TestBundle> {
  return writeBundle('ecs-ingress-routes-', ({ workDir, upstreamsFile, nginxPort }) =>
    nginxTestConf({
      modules: ['stream'],
      main: BUNDLE_MAIN,
      httpIncludes: [upstreamsFile],
      http: [...http(nginxPort), `  include ${join(workDir, 'routes.http.conf')};`],
      streamIncludes: [upstreamsFile, join(workDir, 'routes.stream.conf')],
    }),
  );
}

/** The temp tree of the bundles above, with `bundle/nginx.conf` from `conf`. */
async function writeBundle(
  prefix: string,
  conf: (tree: { workDir: string; upstreamsFile: string; nginxPort: number }) => string,
): Promise<TestBundle> {
  const root = await mkdtemp(join(tmpdir(), prefix));
  // Workers run as `nobody` when the tests run as root: they must be able to traverse the tree.
  await chmod(root, 0o755);
  const workDir = join(root, 'work');
  const bundleDir = join(root, 'bundle');
  await mkdir(workDir, { recursive: true });
  await mkdir(bundleDir, { recursive: true });
  const upstreamsFile = join(workDir, 'upstreams.conf');
  const nginxPort = await freePort();
  await writeFile(join(bundleDir, 'nginx.conf'), conf({ workDir, upstreamsFile, nginxPort }));
  return {
    root,
    workDir,
    bundleDir,
    upstreamsFile,
    nginxPort,
    url: `http://127.0.0.1:${nginxPort}`,
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}

/**
 * What every daemon in these tests is started with: the region, ECS and EC2 at the wire fake
 * (`awsUrl`), the cluster, and the bundle's config dir, work dir and upstreams file. Callers add
 * the queue, SQS/EventBridge endpoints and timings they need.
 */
export function daemonBaseEnv(awsUrl: string, cluster: string, bundle: TestBundle): Record<string, string> {
  return {
    AWS_REGION: 'us-east-1',
    AWS_ENDPOINT_URL_ECS: awsUrl,
    AWS_ENDPOINT_URL_EC2: awsUrl,
    AWS_CLUSTER_NAME: cluster,
    NGINX_CONFIG_DIR: bundle.bundleDir,
    ECS_INGRESS_WORK_DIR: bundle.workDir,
    ECS_INGRESS_UPSTREAMS_FILE: bundle.upstreamsFile,
  };
}

export interface DynamicTestBundle extends TestBundle {
  /** The daemon's defaults beside `upstreamsFile` (ECS_INGRESS_DYNAMIC_* unset). */
  readonly preambleFile: string;
  readonly httpUpstreamsFile: string;
  readonly streamUpstreamsFile: string;
  /** TCP port of the stream server proxying to `streamService`. */
  readonly streamPort: number;
}

/**
 * A bundle in the dynamic-mode layout: NDK then Lua loaded, the preamble and the http upstreams
 * file in `http`, the stream upstreams file in `stream`. `/<service>` is proxied to the upstream of
 * that name through a variable, so a service that appears later is routed without a bundle change
 * (NGINX looks a variable `proxy_pass` host up among the `upstream` blocks first); the stream
 * server proxies to `streamService`, which must be in ECS_INGRESS_STREAM_SERVICES.
 */
export async function makeDynamicBundle(streamService: string): Promise<DynamicTestBundle> {
  const base = await makeBundle([]);
  const file = (name: string) => join(base.workDir, name);
  const preambleFile = file('ecs-ingress-dynamic.conf');
  const httpUpstreamsFile = file('upstreams.http.conf');
  const streamUpstreamsFile = file('upstreams.stream.conf');
  const streamPort = await freePort();
  await writeFile(
    join(base.bundleDir, 'nginx.conf'),
    nginxTestConf({
      modules: ['stream', 'lua'],
      main: BUNDLE_MAIN,
      httpIncludes: [preambleFile, httpUpstreamsFile],
      http: [
        ...BUNDLE_HTTP,
        '  server {',
        `    listen 127.0.0.1:${base.nginxPort};`,
        '    location ~ ^/(?<service>[a-z0-9-]+)$ { proxy_pass http://$service; }',
        '  }',
      ],
      streamIncludes: [streamUpstreamsFile],
      stream: [
        '  server {',
        `    listen 127.0.0.1:${streamPort};`,
        '    proxy_connect_timeout 2s;',
        `    proxy_pass ${streamService};`,
        '  }',
      ],
    }),
  );
  return { ...base, preambleFile, httpUpstreamsFile, streamUpstreamsFile, streamPort };
}

export interface DaemonProcess {
  readonly child: ChildProcess;
  /** `http://127.0.0.1:<port>` of /healthz, /readyz, /metrics. */
  readonly adminUrl: string;
  /** `http://127.0.0.1:<port>` of /debug/state, /debug/upstreams (ECS_INGRESS_DEBUG_LISTEN). */
  readonly debugUrl: string;
  /** Everything the daemon wrote (JSON log lines, NGINX's lines). */
  output(): string;
  /** Resolves with the exit code (or signal name) once the process exited. */
  readonly exited: Promise<number | string>;
  /** SIGTERM, then SIGKILL after `graceMs` if it is still there. */
  kill(graceMs?: number): Promise<number | string>;
}

/** Spawns `ecs-ingress run` with `env` added to a minimal environment. */
export async function spawnDaemon(env: Record<string, string>): Promise<DaemonProcess> {
  const adminPort = await freePort();
  const debugPort = await freePort();
  const child = spawnEcsIngress(
    ['run'],
    isolatedEnv({
      ECS_INGRESS_HTTP_HOST: '127.0.0.1',
      ECS_INGRESS_HTTP_PORT: String(adminPort),
      ECS_INGRESS_DEBUG_LISTEN: `127.0.0.1:${debugPort}`,
      ...env,
    }),
  );
  let output = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
  });
  const exited = new Promise<number | string>((res) => {
    child.once('exit', (code, signal) => res(code ?? signal ?? -1));
  });
  return {
    child,
    adminUrl: `http://127.0.0.1:${adminPort}`,
    debugUrl: `http://127.0.0.1:${debugPort}`,
    output: () => output,
    exited,
    async kill(graceMs = 20_000) {
      if (child.exitCode !== null || child.signalCode !== null) return exited;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** The value of a Prometheus sample line `name{labels} value` in `/metrics` text, if present. */
export function metricValue(text: string, series: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return undefined;
}

/** Runs a test's cleanups, newest first; one that throws does not stop the others. */
export async function runCleanups(cleanups: (() => unknown)[]): Promise<void> {
  for (const c of cleanups.splice(0).reverse()) {
    try {
      await c();
    } catch {
      // Best effort: the next cleanup still runs.
    }
  }
}
