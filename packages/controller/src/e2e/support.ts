/**
 * Helpers for the end-to-end tests: a throw-away NGINX prefix with a user config that includes the
 * upstreams file in `http` and `stream`, loopback backends, requests through NGINX, and /proc
 * lookups. Ports are ephemeral, addresses loopback only; nothing touches /etc/nginx.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  aContainerDefinition,
  aPortMapping,
  aTask,
  aTaskDefinition,
  clusterArn,
  T0,
  taskArn,
  taskDefinitionEvent,
  taskEvent,
} from '@ecs-ingress/testkit';
import type { TaskObservedEvent, TaskSnapshot } from '@ecs-ingress/types';
import { freePort } from '../net/free-port.js';
import { httpGet } from '../test-support/http.js';

export { freePort };

export const NGINX_BINARY = '/usr/sbin/nginx';
export const STREAM_MODULE = '/usr/lib/nginx/modules/ngx_stream_module.so';
export const hasNginx = existsSync(NGINX_BINARY) && existsSync(STREAM_MODULE);

export interface TestPrefix {
  readonly dir: string;
  readonly configFile: string;
  readonly upstreamsFile: string;
  readonly httpPort: number;
  readonly streamPort: number;
  /** (Re)writes nginx.conf; `userHttp` goes into `http {}` before the server (e.g. a user upstream). */
  writeConfig(options?: { userHttp?: string; broken?: boolean }): Promise<void>;
  cleanup(): Promise<void>;
}

/** A prefix whose nginx.conf proxies `/` to upstream `web` (http) and raw TCP to `web` (stream). */
export async function makeTestPrefix(): Promise<TestPrefix> {
  const dir = await mkdtemp(join(tmpdir(), 'ecs-ingress-e2e-'));
  // Workers run as `nobody` when the tests run as root.
  await chmod(dir, 0o755);
  await mkdir(join(dir, 'tmp'), { recursive: true });
  const configFile = join(dir, 'nginx.conf');
  const upstreamsFile = join(dir, 'upstreams.conf');
  const httpPort = await freePort();
  const streamPort = await freePort();
  const prefix: TestPrefix = {
    dir,
    configFile,
    upstreamsFile,
    httpPort,
    streamPort,
    async writeConfig(options = {}) {
      await writeFile(
        configFile,
        `load_module ${STREAM_MODULE};
worker_processes 1;
pid nginx.pid;
error_log stderr notice;
worker_shutdown_timeout 2s;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path tmp/body;
  proxy_temp_path tmp/proxy;
  fastcgi_temp_path tmp/fastcgi;
  uwsgi_temp_path tmp/uwsgi;
  scgi_temp_path tmp/scgi;
  proxy_connect_timeout 2s;
  include ${upstreamsFile};
${options.userHttp ?? ''}
  server {
    listen 127.0.0.1:${httpPort};
    location / { proxy_pass http://web; }
  }
${options.broken ? '  this_directive_does_not_exist on;\n' : ''}}
stream {
  include ${upstreamsFile};
  server {
    listen 127.0.0.1:${streamPort};
    proxy_pass web;
  }
}
`,
      );
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
  await prefix.writeConfig();
  return prefix;
}

/** GET through NGINX on a fresh connection. */
export async function get(
  port: number,
  path = '/',
  timeoutMs = 5_000,
): Promise<{ status: number; body: string }> {
  const { status, body } = await httpGet({ port, path }, timeoutMs);
  return { status, body };
}

/** Sends `payload` over a raw TCP connection and reads until the peer closes (the payload must make it close). */
export function tcpExchange(port: number, payload: string, timeoutMs = 5_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let data = '';
    socket.setEncoding('utf8');
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error('tcp exchange timed out')));
    // No half-close: a peer may take our FIN as the end of the exchange. HTTP/1.0 closes after the reply.
    socket.on('connect', () => socket.write(payload));
    socket.on('data', (chunk: string) => {
      data += chunk;
    });
    socket.on('close', () => resolve(data));
    socket.on('error', reject);
  });
}

/** The backend identities (`web task <id> …` lines' ids) answering `count` fresh requests. */
export async function servedBy(
  port: number,
  count: number,
): Promise<{ ids: Set<string>; statuses: Set<number> }> {
  const ids = new Set<string>();
  const statuses = new Set<number>();
  for (let i = 0; i < count; i += 1) {
    const { status, body } = await get(port);
    statuses.add(status);
    const id = /task (\S+)/.exec(body)?.[1];
    if (status === 200 && id !== undefined) ids.add(id);
  }
  return { ids, statuses };
}

/** Polls `check` until true, at most `attempts` × `intervalMs`. */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  attempts = 250,
  intervalMs = 20,
): Promise<boolean> {
  for (let i = 0; i < attempts; i += 1) {
    try {
      if (await check()) return true;
    } catch {
      // Not ready yet (connection refused while NGINX restarts).
    }
    await sleep(intervalMs);
  }
  return false;
}

/** Whether `pid` is a live process (a zombie does not count). */
export function pidAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Pids whose parent is `ppid`, from /proc. */
export function childPids(ppid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === ppid) children.push(Number(entry));
    } catch {
      // Exited while we read.
    }
  }
  return children;
}

// ---- events for a service whose tasks are loopback backends ----

/** The task definition event of `family` (awsvpc, one container listening on `port`). */
export function serviceDefinition(family: string, port: number, revision = 1) {
  return taskDefinitionEvent(
    aTaskDefinition({
      taskDefinitionArn: `arn:aws:ecs:us-east-1:111122223333:task-definition/${family}:${revision}`,
      family,
      revision,
      containers: [
        aContainerDefinition({ name: family, portMappings: [aPortMapping({ containerPort: port })] }),
      ],
    }),
  );
}

export interface TaskRef {
  readonly id: string;
  readonly service: string;
  readonly host: string;
  readonly revision?: number;
}

/** A task state change event for a loopback task; later versions observed later. */
export function taskChange(
  ref: TaskRef,
  lastStatus: TaskSnapshot['lastStatus'],
  version: number,
  extra: Partial<Pick<TaskSnapshot, 'desiredStatus' | 'stopCode' | 'stoppedReason'>> = {},
): TaskObservedEvent {
  return taskEvent(
    aTask({
      taskArn: taskArn(ref.id),
      clusterArn: clusterArn(),
      taskDefinitionArn: `arn:aws:ecs:us-east-1:111122223333:task-definition/${ref.service}:${ref.revision ?? 1}`,
      group: `service:${ref.service}`,
      lastStatus,
      desiredStatus: extra.desiredStatus ?? (lastStatus === 'STOPPED' ? 'STOPPED' : 'RUNNING'),
      version,
      eniPrivateIpv4Address: ref.host,
      containers: [],
      ...(extra.stopCode === undefined ? {} : { stopCode: extra.stopCode }),
      ...(extra.stoppedReason === undefined ? {} : { stoppedReason: extra.stoppedReason }),
      updatedAt: T0 + version * 1000,
      observedAt: T0 + version * 1000,
    }),
  );
}

const REPO_ROOT = new URL('../../../../', import.meta.url).pathname;
const CLI_MAIN = 'packages/controller/src/cli/main.ts';

/** `ecs-ingress <args>` as a real child process (from the repo root, TypeScript through tsx). */
export interface CliProcess {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function spawnCli(args: readonly string[]): CliProcess {
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', CLI_MAIN, ...args], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    err += chunk;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal }));
  });
  return { child, stdout: () => out, stderr: () => err, exited };
}
