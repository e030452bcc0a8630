/**
 * `ecs-ingress run` in dynamic upstream mode (issue 7), end to end: the daemon in a child process
 * with ECS_INGRESS_UPSTREAM_MODE=dynamic, real NGINX with Debian's NDK + Lua modules, the
 * wire-level ECS/EC2 fake (polling, no queue), a directory bundle in the dynamic layout (preamble +
 * http upstreams in `http`, the stream file in `stream`), backends on 127.0.0.x.
 *
 * Task changes of an existing service route without a reload (master and worker PIDs unchanged,
 * `nginx_reloads_total` unchanged, `dynamic_updates_total` up); a new service goes through a reload
 * (new workers) and is routed; the stream service keeps proxying TCP.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type AwsFake,
  buildAwsvpcTask,
  buildBridgeTask,
  buildTaskDefinition,
  containerInstanceArnFor,
  startAwsFake,
} from '@ecs-ingress/testkit/aws';
import {
  type DaemonProcess,
  type DynamicTestBundle,
  daemonBaseEnv,
  makeDynamicBundle,
  metricValue,
  runCleanups,
  servedBy,
  spawnDaemon,
  tcpExchange,
  untilReady,
} from '@ecs-ingress/testkit/e2e';
import {
  type Backend,
  childPids,
  eventually,
  freePort,
  get,
  pollUntil,
  startBackend,
} from '@ecs-ingress/testkit/net';
import { HAS_LUA_MODULES, hasNginx } from '@ecs-ingress/testkit/nginx';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

const hasParts = hasNginx && HAS_LUA_MODULES;

const RELOADS = 'ecs_ingress_nginx_reloads_total{result="success"}';
const PUSHES = 'ecs_ingress_dynamic_updates_total{result="success"}';

let aws: AwsFake;
const cleanups: (() => unknown)[] = [];

beforeAll(async () => {
  aws = await startAwsFake();
});
afterEach(() => runCleanups(cleanups));
afterAll(async () => {
  await aws?.close();
});

async function backend(name: string, host?: string): Promise<Backend> {
  const b = await startBackend(name, host);
  cleanups.push(() => b.close());
  return b;
}

async function metric(daemon: DaemonProcess, series: string): Promise<number> {
  return metricValue((await get(`${daemon.adminUrl}/metrics`)).body, series) ?? 0;
}

async function nginxPids(bundle: DynamicTestBundle): Promise<{ master: number; workers: number[] }> {
  const master = Number((await readFile(join(bundle.workDir, 'nginx.pid'), 'utf8')).trim());
  return { master, workers: childPids(master).sort((a, b) => a - b) };
}

/** Waits until requests to `/<service>` are answered by exactly `names`. */
async function routesTo(
  bundle: DynamicTestBundle,
  service: string,
  names: string[],
  daemon: DaemonProcess,
): Promise<void> {
  const want = JSON.stringify([...names].sort());
  let last: string[] = [];
  await eventually(
    `/${service} to be served by ${want}`,
    async () => {
      last = await servedBy(`${bundle.url}/${service}`, 6);
      return JSON.stringify(last) === want ? true : undefined;
    },
    { rounds: 200, intervalMs: 100 },
  ).catch((err: unknown) => {
    throw new Error(`${String(err)}; last ${JSON.stringify(last)}\n${daemon.output().slice(-3000)}`);
  });
}

describe.skipIf(!hasParts)('ecs-ingress run, ECS_INGRESS_UPSTREAM_MODE=dynamic (end to end)', () => {
  it('routes task changes without a reload; a new service reloads; stream keeps proxying', async () => {
    const cluster = `dyn-${randomUUID().slice(0, 8)}`;
    aws.ecs.addCluster(cluster);
    const bundle = await makeDynamicBundle('tcp');
    cleanups.push(() => bundle.cleanup());

    // web (http, dynamic) and tcp (stream): bridge tasks on one container instance at 127.0.0.1.
    const ciArn = containerInstanceArnFor(cluster, randomUUID().replaceAll('-', ''));
    aws.ecs.putContainerInstance(ciArn, 'i-0d00000000000001', { cluster });
    aws.ec2.putInstance('i-0d00000000000001', '127.0.0.1');
    const bridgeTask = (service: string, b: Backend) => {
      const def = aws.ecs.putTaskDefinition(
        buildTaskDefinition({
          family: service,
          networkMode: 'bridge',
          containers: [{ name: 'app', containerPort: 80 }],
        }),
      );
      return buildBridgeTask({
        cluster,
        service,
        containerInstanceArn: ciArn,
        hostPort: b.port,
        taskDefinitionArn: def.taskDefinitionArn!,
      });
    };
    aws.ecs.putService('web', { cluster });
    aws.ecs.putService('tcp', { cluster });
    const webA = await backend('web-a');
    const taskA = aws.ecs.putTask(bridgeTask('web', webA));
    aws.ecs.putTask(bridgeTask('tcp', await backend('tcp-1')));

    const controlPort = await freePort();
    const daemon = await spawnDaemon({
      // The three dynamic files take their defaults beside the upstreams file (the bundle includes those).
      ...daemonBaseEnv(aws.url, cluster, bundle),
      ECS_INGRESS_UPSTREAM_MODE: 'dynamic',
      ECS_INGRESS_DYNAMIC_CONTROL_LISTEN: `127.0.0.1:${controlPort}`,
      ECS_INGRESS_STREAM_SERVICES: 'tcp',
      ECS_INGRESS_QUEUE_MODE: 'none',
      ECS_INGRESS_POLL_INTERVAL: '300ms',
      ECS_INGRESS_DEBOUNCE_MIN: '50ms',
      ECS_INGRESS_DEBOUNCE_MAX: '300ms',
      ECS_INGRESS_MIN_RELOAD_INTERVAL: '100ms',
      ECS_INGRESS_LOG_LEVEL: 'info',
    });
    cleanups.push(() => daemon.kill(5000));
    await untilReady(daemon);

    // The daemon wrote the three files the bundle includes, and nothing in reload-mode format.
    expect(await readFile(bundle.httpUpstreamsFile, 'utf8')).toMatch(/balancer_by_lua_block/);
    expect(await readFile(bundle.preambleFile, 'utf8')).toContain(`listen 127.0.0.1:${controlPort};`);
    const stream = await readFile(bundle.streamUpstreamsFile, 'utf8');
    expect(stream).toMatch(/upstream tcp \{/);
    expect(stream).not.toMatch(/upstream web \{/);
    expect(existsSync(bundle.upstreamsFile)).toBe(false);

    await routesTo(bundle, 'web', ['web-a'], daemon);
    expect(await tcpExchange(bundle.streamPort, 'GET / HTTP/1.0\r\n\r\n')).toContain('tcp-1');
    const before = await nginxPids(bundle);
    expect(before.workers.length).toBeGreaterThan(0);
    const reloadsBefore = await metric(daemon, RELOADS);
    const pushesBefore = await metric(daemon, PUSHES);

    // A task starts, another stops: endpoint-only changes, pushed to the Lua balancer.
    const webB = await backend('web-b');
    aws.ecs.putTask(bridgeTask('web', webB));
    await routesTo(bundle, 'web', ['web-a', 'web-b'], daemon);
    aws.ecs.updateTask(taskA.taskArn!, { desiredStatus: 'STOPPED', lastStatus: 'DEACTIVATING' });
    await routesTo(bundle, 'web', ['web-b'], daemon);
    // /debug/upstreams shows what NGINX routes to: the pushed set, not the server-less http file.
    const debug = (await get(`${daemon.debugUrl}/debug/upstreams`)).body;
    expect(debug).toMatch(
      new RegExp(`# web: endpoints pushed \\(version \\d+\\)\\n127\\.0\\.0\\.1:${webB.port}\\n`),
    );
    expect(debug).not.toContain(`:${webA.port}\n`);
    expect(debug).toMatch(/upstream tcp \{/);

    expect(await nginxPids(bundle)).toEqual(before);
    expect(await metric(daemon, RELOADS)).toBe(reloadsBefore);
    expect(await metric(daemon, PUSHES)).toBeGreaterThanOrEqual(pushesBefore + 2);
    expect(daemon.output()).not.toMatch(/"msg":"nginx reloaded"/);

    // A new service: structural, so it goes through a reload (same master, new workers).
    const api = await backend('api-1', '127.0.0.2');
    aws.ecs.putService('api', { cluster });
    const apiDef = aws.ecs.putTaskDefinition(
      buildTaskDefinition({
        family: 'api',
        networkMode: 'awsvpc',
        containers: [{ name: 'app', containerPort: api.port }],
      }),
    );
    aws.ecs.putTask(
      buildAwsvpcTask({
        cluster,
        service: 'api',
        ip: '127.0.0.2',
        taskDefinitionArn: apiDef.taskDefinitionArn!,
      }),
    );
    await routesTo(bundle, 'api', ['api-1'], daemon);
    expect((await nginxPids(bundle)).master).toBe(before.master);
    // A reload replaces the workers; the old ones leave gracefully, a moment later on a busy machine.
    const oldWorkersGone = await pollUntil(async () => {
      const after = await nginxPids(bundle);
      return after.master === before.master && !after.workers.some((pid) => before.workers.includes(pid));
    });
    expect(oldWorkersGone).toBe(true);
    expect(await metric(daemon, RELOADS)).toBeGreaterThan(reloadsBefore);
    expect(daemon.output()).toMatch(/"msg":"nginx reloaded"/);
    // The reload kept the endpoints already pushed, and the stream server.
    await routesTo(bundle, 'web', ['web-b'], daemon);
    expect(await tcpExchange(bundle.streamPort, 'GET / HTTP/1.0\r\n\r\n')).toContain('tcp-1');

    expect(await daemon.kill(20_000)).toBe(0);
    expect(childPids(before.master)).toEqual([]);
  }, 90_000);
});
