/**
 * Helpers for the end-to-end tests of the runtime and the CLI: a throw-away NGINX prefix with a
 * user config that includes the upstreams file in `http` and `stream`, raw TCP through it, and
 * events for a service whose tasks are loopback backends. Ports are ephemeral, addresses loopback
 * only; nothing touches /etc/nginx.
 */
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TaskObservedEvent, TaskSnapshot } from '@ecs-ingress/types';
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
} from '../builders.js';
import { freePort } from '../net/free-port.js';
import { get } from '../net/http.js';
import { nginxTestConf } from '../nginx/nginx-conf.js';

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
        nginxTestConf({
          modules: ['stream'],
          main: ['worker_shutdown_timeout 2s;'],
          tempDir: 'tmp',
          http: [
            '  proxy_connect_timeout 2s;',
            `  include ${upstreamsFile};`,
            ...(options.userHttp === undefined ? [] : [options.userHttp]),
            '  server {',
            `    listen 127.0.0.1:${httpPort};`,
            '    location / { proxy_pass http://web; }',
            '  }',
            ...(options.broken ? ['  this_directive_does_not_exist on;'] : []),
          ],
          streamIncludes: [upstreamsFile],
          stream: ['  server {', `    listen 127.0.0.1:${streamPort};`, '    proxy_pass web;', '  }'],
        }),
      );
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
  await prefix.writeConfig();
  return prefix;
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
export async function servedByTasks(
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
