/**
 * `ecs-ingress run` end to end: the daemon in a child process, real NGINX, fauxqs SQS, the
 * wire-level ECS/EC2/EventBridge fake, backends on 127.0.0.x. One scenario walks the daemon's life:
 * throttled start-up → per-instance queue → events (start, stop, not JSON, other cluster) → health
 * → queue outage, fallback polling, recovery → SIGTERM (queue and rule deleted, NGINX gone, exit 0).
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CreateQueueCommand, DeleteQueueCommand } from '@aws-sdk/client-sqs';
import { instanceResourceName } from '@ecs-ingress/sources';
import {
  buildAwsvpcTask,
  buildBridgeTask,
  buildTaskDefinition,
  containerInstanceArnFor,
} from '@ecs-ingress/testkit/aws';
import {
  type DaemonProcess,
  daemonBaseEnv,
  makeBundle,
  metricValue,
  sendBody,
  servedBy,
  spawnDaemon,
  type TestBundle,
  taskChangeBody,
  untilReady,
  useDaemonWorld,
} from '@ecs-ingress/testkit/e2e';
import { type Backend, eventually, get, httpGet } from '@ecs-ingress/testkit/net';
import { hasNginx } from '@ecs-ingress/testkit/nginx';
import { describe, expect, it } from 'vitest';

const world = useDaemonWorld();

/** Fast timings so the scenario runs in seconds; every one goes through the configuration. */
function daemonEnv(
  cluster: string,
  bundle: TestBundle,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    ...daemonBaseEnv(world.aws.url, cluster, bundle),
    AWS_ENDPOINT_URL_EVENTBRIDGE: world.aws.url,
    AWS_ENDPOINT_URL_SQS: world.fq.endpoint,
    ECS_INGRESS_DEBOUNCE_MIN: '50ms',
    ECS_INGRESS_DEBOUNCE_MAX: '300ms',
    ECS_INGRESS_MIN_RELOAD_INTERVAL: '100ms',
    ECS_INGRESS_POLL_INTERVAL: '500ms',
    ECS_INGRESS_QUEUE_GRACE_PERIOD: '1s',
    ECS_INGRESS_HEALTH_CHECK_INTERVAL: '200ms',
    ECS_INGRESS_LOG_LEVEL: 'info',
    ...extra,
  };
}

async function started(env: Record<string, string>): Promise<DaemonProcess> {
  const daemon = await spawnDaemon(env);
  world.defer(() => daemon.kill(5000));
  return daemon;
}

async function metrics(daemon: DaemonProcess): Promise<string> {
  return (await get(`${daemon.adminUrl}/metrics`)).body;
}

/** Waits until requests to `/<service>` are answered by exactly `names` (sorted). */
async function routesTo(
  bundle: TestBundle,
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
    throw new Error(
      `${String(err)}; last served by ${JSON.stringify(last)}\n${daemon.output().slice(-3000)}`,
    );
  });
}

describe.skipIf(!hasNginx)('ecs-ingress run (end to end)', () => {
  it('follows the cluster through events, health, a queue outage and SIGTERM', async () => {
    const cluster = `e2e-${randomUUID().slice(0, 8)}`;
    const instanceId = `host-${randomUUID().slice(0, 8)}`;
    world.aws.ecs.addCluster(cluster);
    const a = await world.backend('web-a');
    const bundle = await makeBundle(['web', 'api']);
    world.defer(() => bundle.cleanup());

    // web: bridge tasks on one container instance (127.0.0.1), each its own host port.
    const webDef = world.aws.ecs.putTaskDefinition(
      buildTaskDefinition({
        family: 'web',
        networkMode: 'bridge',
        containers: [{ name: 'app', containerPort: 80 }],
      }),
    );
    const ciArn = containerInstanceArnFor(cluster, randomUUID().replaceAll('-', ''));
    world.aws.ecs.putContainerInstance(ciArn, 'i-0e2e0000000000001', { cluster });
    world.aws.ec2.putInstance('i-0e2e0000000000001', '127.0.0.1');
    world.aws.ecs.putService('web', { cluster });
    world.aws.ecs.putService('api', { cluster });
    const webTask = (b: Backend) =>
      buildBridgeTask({
        cluster,
        service: 'web',
        containerInstanceArn: ciArn,
        hostPort: b.port,
        taskDefinitionArn: webDef.taskDefinitionArn!,
      });
    const taskA = world.aws.ecs.putTask(webTask(a));

    // api: an awsvpc task on 127.0.0.2 whose definition has a health check (admitted once HEALTHY).
    const apiBackend = await world.backend('api-1', '127.0.0.2');
    const apiDef = world.aws.ecs.putTaskDefinition(
      buildTaskDefinition({
        family: 'api',
        networkMode: 'awsvpc',
        containers: [{ name: 'app', containerPort: apiBackend.port, healthCheck: true }],
      }),
    );
    const apiTask = world.aws.ecs.putTask(
      buildAwsvpcTask({
        cluster,
        service: 'api',
        ip: '127.0.0.2',
        taskDefinitionArn: apiDef.taskDefinitionArn!,
      }),
    );

    // ECS throttles the start-up listing: the SDK's retries and the supervisor's backoff absorb it.
    world.aws.resetCalls();
    world.aws.inject({ service: 'ecs', operation: 'ListTasks', kind: 'throttle', times: 4 });

    const daemon = await started(
      daemonEnv(cluster, bundle, {
        ECS_INGRESS_QUEUE_MODE: 'per-instance',
        ECS_INGRESS_INSTANCE_ID: instanceId,
      }),
    );
    await untilReady(daemon);
    expect(world.aws.requests('ecs', 'ListTasks').filter((r) => r.fault === 'throttle')).toHaveLength(4);
    await routesTo(bundle, 'web', ['web-a'], daemon);
    // api awaits health: only the DOWN placeholder (NGINX answers 502).
    await routesTo(bundle, 'api', ['<502>'], daemon);

    // The per-instance queue and rule exist, tagged, and the queue URL is what the daemon consumes.
    const name = instanceResourceName('ecs-ingress-', cluster, instanceId);
    expect(world.aws.events.rule(name)).toBeDefined();
    const state = JSON.parse((await get(`${daemon.debugUrl}/debug/state`)).body) as { queueUrl?: string };
    // The debug endpoints list every task: only on their own loopback listener, not beside /metrics.
    expect(await get(`${daemon.adminUrl}/debug/state`)).toMatchObject({
      status: 404,
      body: expect.stringContaining('ECS_INGRESS_DEBUG_LISTEN'),
    });
    expect((await get(`${daemon.adminUrl}/metrics`)).status).toBe(200);
    expect((await get(`${daemon.debugUrl}/metrics`)).status).toBe(404);
    const queueUrl = state.queueUrl;
    expect(queueUrl).toMatch(new RegExp(`${name}$`));
    expect(world.fq.server.inspectQueue(name)).toBeDefined();

    // A task starts: event → NGINX routes to both.
    const b = await world.backend('web-b');
    const taskB = world.aws.ecs.putTask(webTask(b));
    await sendBody(world.sqs, queueUrl!, taskChangeBody(taskB));
    await routesTo(bundle, 'web', ['web-a', 'web-b'], daemon);

    // A task stops: event → gone at once (desiredStatus STOPPED), though its backend still answers.
    const stoppedA = world.aws.ecs.updateTask(taskA.taskArn!, {
      desiredStatus: 'STOPPED',
      lastStatus: 'DEACTIVATING',
    });
    await sendBody(world.sqs, queueUrl!, taskChangeBody(stoppedA));
    await routesTo(bundle, 'web', ['web-b'], daemon);

    // Not JSON, and another cluster's task for a service of the same name: neither changes anything,
    // and the daemon keeps consuming (the next real event still lands).
    await sendBody(world.sqs, queueUrl!, '{not json');
    const stranger = await world.backend('stranger');
    await sendBody(
      world.sqs,
      queueUrl!,
      taskChangeBody(
        buildBridgeTask({
          cluster: 'someone-else',
          service: 'web',
          containerInstanceArn: ciArn,
          hostPort: stranger.port,
        }),
      ),
    );
    const c = await world.backend('web-c');
    const taskC = world.aws.ecs.putTask(webTask(c));
    await sendBody(world.sqs, queueUrl!, taskChangeBody(taskC));
    await routesTo(bundle, 'web', ['web-b', 'web-c'], daemon);
    const text = await metrics(daemon);
    expect(metricValue(text, 'ecs_ingress_events_applied_total{outcome="invalid"}')).toBeGreaterThanOrEqual(
      1,
    );
    expect((await get(`${daemon.debugUrl}/debug/upstreams`)).body).not.toContain(`:${stranger.port};`);

    // Health arrives through DescribeTasks: api is admitted.
    world.aws.ecs.updateTask(apiTask.taskArn!, {
      healthStatus: 'HEALTHY',
      containers: apiTask.containers!.map((k) => ({ ...k, healthStatus: 'HEALTHY' })),
    });
    await routesTo(bundle, 'api', ['api-1'], daemon);

    // Queue outage: the queue disappears → receive errors → after the grace period, polling.
    await world.sqs.send(new DeleteQueueCommand({ QueueUrl: queueUrl! }));
    await eventually(
      'fallback polling',
      async () =>
        metricValue(await metrics(daemon), 'ecs_ingress_source_mode{mode="polling"}') === 1
          ? true
          : undefined,
      { rounds: 200, intervalMs: 100 },
    );
    // A change with no event at all is found by polling.
    const d = await world.backend('web-d');
    const taskD = world.aws.ecs.putTask(webTask(d));
    await routesTo(bundle, 'web', ['web-b', 'web-c', 'web-d'], daemon);
    // Recovery: the queue is back (same name, same URL) → events mode, and events flow again.
    await world.sqs.send(new CreateQueueCommand({ QueueName: name }));
    await eventually(
      'events mode again',
      async () =>
        metricValue(await metrics(daemon), 'ecs_ingress_source_mode{mode="events"}') === 1 ? true : undefined,
      { rounds: 450, intervalMs: 100 },
    );
    const stoppedD = world.aws.ecs.updateTask(taskD.taskArn!, {
      desiredStatus: 'STOPPED',
      lastStatus: 'STOPPED',
    });
    await sendBody(world.sqs, queueUrl!, taskChangeBody(stoppedD));
    await routesTo(bundle, 'web', ['web-b', 'web-c'], daemon);

    // SIGTERM: exit 0, the queue and the rule are gone, NGINX is gone.
    const health = JSON.parse((await get(`${daemon.adminUrl}/healthz`)).body) as {
      details: { nginxPid?: number; nginx?: string };
    };
    expect(health.details.nginx).toBe('running');
    const nginxPid = health.details.nginxPid;
    expect(nginxPid).toBeGreaterThan(0);
    const code = await daemon.kill(25_000);
    expect(code, daemon.output().slice(-3000)).toBe(0);
    expect(world.aws.events.rule(name)).toBeUndefined();
    expect(world.fq.server.inspectQueue(name)).toBeUndefined();
    expect(existsSync(`/proc/${nginxPid}`)).toBe(false);
    await expect(httpGet(`${bundle.url}/web`, 1000)).rejects.toThrow();
  }, 120_000);

  it('refuses to start without a valid bundle and no last known good one (exit 1, a clear message)', async () => {
    const cluster = `e2e-${randomUUID().slice(0, 8)}`;
    world.aws.ecs.addCluster(cluster);
    const bundle = await makeBundle(['web'], { broken: true });
    world.defer(() => bundle.cleanup());
    world.aws.ecs.putService('web', { cluster });
    const daemon = await started(daemonEnv(cluster, bundle, { ECS_INGRESS_QUEUE_MODE: 'none' }));
    const code = await Promise.race([
      daemon.exited,
      new Promise((r) => setTimeout(() => r('still running'), 60_000)),
    ]);
    expect(code, daemon.output().slice(-3000)).toBe(1);
    expect(daemon.output()).toContain('no valid NGINX config bundle');
    expect(daemon.output()).toContain('this_directive_does_not_exist');
  }, 90_000);

  it('serves the last known good upstreams while ECS is down, is ready once it is back, and swaps bundles', async () => {
    const cluster = `e2e-${randomUUID().slice(0, 8)}`;
    world.aws.ecs.addCluster(cluster);
    // Backends first: a port freePort() just released is the next one bind(0) hands out.
    const a = await world.backend('web-a');
    const b = await world.backend('web-b');
    const bundle = await makeBundle(['web']);
    world.defer(() => bundle.cleanup());
    world.aws.ecs.putService('web', { cluster });
    // A previous run's last known good file: web → a.
    const { renderUpstreams } = await import('@ecs-ingress/renderer');
    const text = renderUpstreams([
      { name: 'web', servers: [{ address: '127.0.0.1', port: a.port, taskArn: 'x' }] },
    ]).text;
    await writeFile(`${bundle.upstreamsFile}.last-good`, text);
    // ECS answers 5xx to everything until the fault is cleared.
    const outage = world.aws.inject({ service: 'ecs', kind: 'server-error' });
    world.defer(() => outage.clear());

    const def = world.aws.ecs.putTaskDefinition(
      buildTaskDefinition({
        family: 'lkg',
        networkMode: 'bridge',
        containers: [{ name: 'app', containerPort: 80 }],
      }),
    );
    const ciArn = containerInstanceArnFor(cluster, randomUUID().replaceAll('-', ''));
    world.aws.ecs.putContainerInstance(ciArn, 'i-0e2e0000000000002', { cluster });
    world.aws.ec2.putInstance('i-0e2e0000000000002', '127.0.0.1');
    world.aws.ecs.putTask(
      buildBridgeTask({
        cluster,
        service: 'web',
        containerInstanceArn: ciArn,
        hostPort: b.port,
        taskDefinitionArn: def.taskDefinitionArn!,
      }),
    );

    const daemon = await started(
      daemonEnv(cluster, bundle, {
        ECS_INGRESS_QUEUE_MODE: 'none',
        ECS_INGRESS_BUNDLE_CHECK_INTERVAL: '300ms',
      }),
    );
    // NGINX serves the last known good file; healthy, not ready, and /readyz says why.
    await routesTo(bundle, 'web', ['web-a'], daemon);
    const readyz = await eventually('/readyz to say AWS is unreachable', async () => {
      const r = await get(`${daemon.adminUrl}/readyz`);
      const phase = (JSON.parse(r.body) as { details?: { phase?: string } }).details?.phase;
      return phase === 'serving-last-known-good-aws-unreachable' ? r : undefined;
    });
    expect(readyz.status).toBe(503);
    expect(JSON.parse(readyz.body).details.lastSyncError).toMatch(/^ECS_INGRESS_/);
    expect((await get(`${daemon.adminUrl}/healthz`)).status).toBe(200);
    // AWS is back: the first 200 from /readyz comes only once NGINX serves the sync's render (web-b),
    // never while the last known good (web-a, a task long gone) still serves.
    outage.clear();
    await eventually(
      '/readyz 200',
      async () => ((await get(`${daemon.adminUrl}/readyz`)).status === 200 ? true : undefined),
      { rounds: 1500, intervalMs: 20 },
    );
    expect(await servedBy(`${bundle.url}/web`, 8)).toEqual(['web-b']);

    // A new bundle in the directory goes live (staged, nginx -t, flipped, reloaded through the gate);
    // a broken one after it is refused and the running config keeps serving.
    const conf = join(bundle.bundleDir, 'nginx.conf');
    const original = await readFile(conf, 'utf8');
    await writeFile(
      conf,
      original.replace('    location /web', '    location = /hello { return 200 "v2"; }\n    location /web'),
    );
    await eventually('the new bundle to serve /hello', async () => {
      const r = await get(`${bundle.url}/hello`);
      return r.status === 200 && r.body === 'v2' ? true : undefined;
    });
    await writeFile(
      conf,
      original.replace(
        '    location /web',
        '    location = /hello { return 200 "v3"; }\n    broken_directive on;\n    location /web',
      ),
    );
    await eventually('the broken bundle to be refused', async () =>
      metricValue(await metrics(daemon), 'ecs_ingress_bundle_applies_total{result="failed"}') === 1
        ? true
        : undefined,
    );
    expect((await get(`${bundle.url}/hello`)).body).toBe('v2');
    await routesTo(bundle, 'web', ['web-b'], daemon);
    expect(await daemon.kill(25_000)).toBe(0);
  }, 120_000);
});
