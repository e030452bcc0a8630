/**
 * SIGTERM while ECS is slow (issue 14): ECS kills a container 30 s after SIGTERM, so the daemon
 * must not wait for a full sync to finish. The wire fake holds every ListTasks answer for a minute;
 * SIGTERM comes while that call is in flight, during the first sync (before NGINX started) and
 * during a resync (NGINX serving), and while EventBridge holds the queue set-up. Each time the
 * daemon aborts the call and exits 0 within 5 s, after deleting its per-instance queue and rule
 * and, once running, quitting NGINX.
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { instanceResourceName } from '@ecs-ingress/sources';
import { buildAwsvpcTask, buildTaskDefinition } from '@ecs-ingress/testkit/aws';
import {
  type DaemonProcess,
  daemonBaseEnv,
  makeBundle,
  spawnDaemon,
  type TestBundle,
  untilReady,
  useDaemonWorld,
} from '@ecs-ingress/testkit/e2e';
import { eventually, get, startBackend } from '@ecs-ingress/testkit/net';
import { hasNginx } from '@ecs-ingress/testkit/nginx';
import { afterEach, describe, expect, it } from 'vitest';

/** ECS's default stopTimeout is 30 s; the issue asks for 5. */
const EXIT_WITHIN_MS = 5_000;

const world = useDaemonWorld();
// Registered after the world's hooks, so it runs before them: no fault is left for the next test.
afterEach(() => world.aws.clearFaults());

function daemonEnv(cluster: string, instanceId: string, bundle: TestBundle): Record<string, string> {
  return {
    ...daemonBaseEnv(world.aws.url, cluster, bundle),
    AWS_ENDPOINT_URL_EVENTBRIDGE: world.aws.url,
    AWS_ENDPOINT_URL_SQS: world.fq.endpoint,
    ECS_INGRESS_QUEUE_MODE: 'per-instance',
    ECS_INGRESS_INSTANCE_ID: instanceId,
    // A resync every second, so one is in flight soon after the start.
    ECS_INGRESS_RESYNC_INTERVAL: '1s',
    ECS_INGRESS_DEBOUNCE_MIN: '50ms',
    ECS_INGRESS_DEBOUNCE_MAX: '300ms',
    ECS_INGRESS_LOG_LEVEL: 'info',
  };
}

async function setUp(): Promise<{ cluster: string; instanceId: string; bundle: TestBundle }> {
  const cluster = `stop-${randomUUID().slice(0, 8)}`;
  const instanceId = `host-${randomUUID().slice(0, 8)}`;
  world.aws.ecs.addCluster(cluster);
  const backend = await startBackend('web-1', '127.0.0.4');
  world.defer(() => backend.close());
  const def = world.aws.ecs.putTaskDefinition(
    buildTaskDefinition({
      family: `web-${cluster}`,
      networkMode: 'awsvpc',
      containers: [{ name: 'app', containerPort: backend.port }],
    }),
  );
  world.aws.ecs.putService('web', { cluster });
  world.aws.ecs.putTask(
    buildAwsvpcTask({ cluster, service: 'web', ip: '127.0.0.4', taskDefinitionArn: def.taskDefinitionArn! }),
  );
  const bundle = await makeBundle(['web']);
  world.defer(() => bundle.cleanup());
  return { cluster, instanceId, bundle };
}

async function started(env: Record<string, string>): Promise<DaemonProcess> {
  const daemon = await spawnDaemon(env);
  world.defer(() => daemon.kill(5000));
  return daemon;
}

/** Waits until a ListTasks call is being held by the fake's delay. */
async function listTasksHeld(daemon: DaemonProcess): Promise<void> {
  await eventually(
    'a delayed ListTasks in flight',
    () => {
      if (daemon.child.exitCode !== null) throw new Error(`daemon exited:\n${daemon.output()}`);
      return world.aws.requests('ecs', 'ListTasks').some((r) => r.fault === 'delay') ? true : undefined;
    },
    { rounds: 400, intervalMs: 50 },
  );
}

/** SIGTERM; resolves with the exit code and the time it took. */
async function terminate(daemon: DaemonProcess): Promise<{ code: number | string; ms: number }> {
  const at = performance.now();
  daemon.child.kill('SIGTERM');
  // A backstop far above the bound, so a regression fails on the figure rather than hanging.
  const timer = setTimeout(() => daemon.child.kill('SIGKILL'), 40_000);
  const code = await daemon.exited;
  clearTimeout(timer);
  return { code, ms: performance.now() - at };
}

function queueAndRuleGone(cluster: string, instanceId: string): void {
  const name = instanceResourceName('ecs-ingress-', cluster, instanceId);
  expect(world.aws.events.rule(name)).toBeUndefined();
  expect(world.fq.server.inspectQueue(name)).toBeUndefined();
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe.skipIf(!hasNginx)('SIGTERM while ECS is slow', () => {
  it('during the first full sync: exits 0 within 5 s, queue and rule deleted', async () => {
    const { cluster, instanceId, bundle } = await setUp();
    world.aws.resetCalls();
    world.aws.inject({ service: 'ecs', operation: 'ListTasks', kind: 'delay', delayMs: 60_000 });
    const daemon = await started(daemonEnv(cluster, instanceId, bundle));
    await listTasksHeld(daemon);
    const name = instanceResourceName('ecs-ingress-', cluster, instanceId);
    expect(world.aws.events.rule(name)).toBeDefined();
    expect((await get(`${daemon.adminUrl}/readyz`)).status).toBe(503);

    const { code, ms } = await terminate(daemon);
    expect(code, daemon.output().slice(-3000)).toBe(0);
    expect(ms, `exit took ${Math.round(ms)} ms`).toBeLessThan(EXIT_WITHIN_MS);
    queueAndRuleGone(cluster, instanceId);
    expect(daemon.output()).toContain('event queue removed');
  }, 60_000);

  it('while EventBridge holds the queue set-up (PutRule): exits 0 within 5 s, nothing left behind', async () => {
    const { cluster, instanceId, bundle } = await setUp();
    world.aws.resetCalls();
    world.aws.inject({ service: 'events', operation: 'PutRule', kind: 'delay', delayMs: 60_000 });
    const daemon = await started(daemonEnv(cluster, instanceId, bundle));
    await eventually(
      'a delayed PutRule in flight',
      () => {
        if (daemon.child.exitCode !== null) throw new Error(`daemon exited:\n${daemon.output()}`);
        return world.aws.requests('events', 'PutRule').some((r) => r.fault === 'delay') ? true : undefined;
      },
      { rounds: 400, intervalMs: 50 },
    );

    const { code, ms } = await terminate(daemon);
    expect(code, daemon.output().slice(-3000)).toBe(0);
    expect(ms, `exit took ${Math.round(ms)} ms`).toBeLessThan(EXIT_WITHIN_MS);
    queueAndRuleGone(cluster, instanceId);
  }, 60_000);

  it('during a resync with NGINX serving: exits 0 within 5 s, NGINX quit, queue and rule deleted', async () => {
    const { cluster, instanceId, bundle } = await setUp();
    const daemon = await started(daemonEnv(cluster, instanceId, bundle));
    await untilReady(daemon);
    const nginxPid = Number((await readFile(join(bundle.workDir, 'nginx.pid'), 'utf8')).trim());
    expect(processAlive(nginxPid)).toBe(true);
    world.aws.resetCalls();
    world.aws.inject({ service: 'ecs', operation: 'ListTasks', kind: 'delay', delayMs: 60_000 });
    await listTasksHeld(daemon);

    const { code, ms } = await terminate(daemon);
    expect(code, daemon.output().slice(-3000)).toBe(0);
    expect(ms, `exit took ${Math.round(ms)} ms`).toBeLessThan(EXIT_WITHIN_MS);
    queueAndRuleGone(cluster, instanceId);
    expect(processAlive(nginxPid)).toBe(false);
    expect(daemon.output()).toContain('runtime stopped');
  }, 60_000);
});
