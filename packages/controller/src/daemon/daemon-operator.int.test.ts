/**
 * What an operator sees of `ecs-ingress run` (issue 14): the daemon as a child process against the
 * wire-level ECS/EC2 fake and real NGINX, its /metrics scraped, and the shipped alert rules
 * (deploy/prometheus/alerts.yml) run over 15 minutes of those series with `promtool test rules`.
 * - A fresh, healthy daemon on a quiet cluster (reload and dynamic mode): the gauges describe the
 *   config NGINX serves from the first scrape after the start, and no alert fires.
 * - A daemon that can never sync (cluster not found, no credentials): /readyz 503 with the reason,
 *   one `error` log line with what to check, `ecs_ingress_aws_permanent_error{reason}` 1, and
 *   EcsIngressAwsPermanentError fires.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildAwsvpcTask, buildTaskDefinition } from '@ecs-ingress/testkit/aws';
import {
  type DaemonProcess,
  daemonBaseEnv,
  dashboardQuery,
  findOnPath,
  makeBundle,
  makeDynamicBundle,
  metricValue,
  promtoolOverScrapes,
  spawnDaemon,
  type TestBundle,
  untilDaemon,
  untilReady,
  useDaemonWorld,
} from '@ecs-ingress/testkit/e2e';
import { type Backend, eventually, freePort, get, httpGet, startBackend } from '@ecs-ingress/testkit/net';
import { HAS_LUA_MODULES, hasNginx } from '@ecs-ingress/testkit/nginx';
import { describe, expect, it } from 'vitest';

const promtool = findOnPath('promtool');

const world = useDaemonWorld();

function daemonEnv(cluster: string, bundle: TestBundle, extra: Record<string, string> = {}) {
  return {
    ...daemonBaseEnv(world.aws.url, cluster, bundle),
    ECS_INGRESS_QUEUE_MODE: 'none',
    ECS_INGRESS_DEBOUNCE_MIN: '50ms',
    ECS_INGRESS_DEBOUNCE_MAX: '300ms',
    ECS_INGRESS_MIN_RELOAD_INTERVAL: '100ms',
    ECS_INGRESS_LOG_LEVEL: 'info',
    ...extra,
  };
}

async function started(env: Record<string, string>): Promise<DaemonProcess> {
  const daemon = await spawnDaemon(env);
  world.defer(() => daemon.kill(5000));
  return daemon;
}

/**
 * As deployed: a per-instance queue and rule (fauxqs, the wire fake's EventBridge), so the daemon
 * consumes events; without a queue it polls by design, which EcsIngressFallbackPolling reports.
 */
function withQueue(): Record<string, string> {
  return {
    AWS_ENDPOINT_URL_EVENTBRIDGE: world.aws.url,
    AWS_ENDPOINT_URL_SQS: world.fq.endpoint,
    ECS_INGRESS_QUEUE_MODE: 'per-instance',
    ECS_INGRESS_INSTANCE_ID: `host-${randomUUID().slice(0, 8)}`,
  };
}

/** The first /metrics answer (the HTTP endpoints come up before anything else). */
async function firstScrape(daemon: DaemonProcess): Promise<string> {
  return eventually(
    'the first /metrics answer',
    async () => {
      if (daemon.child.exitCode !== null) throw new Error(`daemon exited:\n${daemon.output()}`);
      const res = await httpGet(`${daemon.adminUrl}/metrics`, 1000);
      return res.status === 200 ? res.body : undefined;
    },
    { rounds: 300, intervalMs: 20 },
  );
}

async function scrape(daemon: DaemonProcess): Promise<string> {
  return (await get(`${daemon.adminUrl}/metrics`)).body;
}

/** One awsvpc service `web` with one task on 127.0.0.3 (its backend answers `web-1`). */
async function quietCluster(): Promise<{ cluster: string; backend: Backend }> {
  const cluster = `ops-${randomUUID().slice(0, 8)}`;
  world.aws.ecs.addCluster(cluster);
  const backend = await startBackend('web-1', '127.0.0.3');
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
    buildAwsvpcTask({ cluster, service: 'web', ip: '127.0.0.3', taskDefinitionArn: def.taskDefinitionArn! }),
  );
  return { cluster, backend };
}

/** The gauges a scrape right after readiness must show for one upstream with one server. */
function expectServedConfigGauges(text: string, upstreams = 1): void {
  expect(metricValue(text, 'ecs_ingress_nginx_last_reload_success')).toBe(1);
  const loadedAt = metricValue(text, 'ecs_ingress_nginx_last_reload_success_timestamp_seconds') ?? 0;
  expect(loadedAt).toBeGreaterThan(Date.now() / 1000 - 120);
  expect(loadedAt).toBeLessThanOrEqual(Date.now() / 1000 + 1);
  expect(metricValue(text, 'ecs_ingress_upstreams')).toBe(upstreams);
  expect(metricValue(text, 'ecs_ingress_upstream_servers{upstream="web"}')).toBe(1);
  expect(text).toMatch(/^ecs_ingress_config_hash_info\{hash="[0-9a-f.]+"\} 1$/m);
  expect(metricValue(text, 'ecs_ingress_full_syncs_total{result="success"}')).toBeGreaterThanOrEqual(1);
  expect(text).toMatch(/^ecs_ingress_aws_permanent_error\{reason="cluster-not-found"\} 0$/m);
}

const QUIET_WINDOW = { minutes: 15, evalTimes: ['5m', '10m', '15m'] } as const;

/** The dashboard's overview of a healthy daemon: nothing failed, one config, no AWS problem. */
async function healthyOverview(): Promise<{ expr: string; evalTime: string; value: number }[]> {
  return [
    { expr: await dashboardQuery('Instances whose last reload failed'), evalTime: '15m', value: 0 },
    { expr: await dashboardQuery('Distinct applied configs'), evalTime: '15m', value: 1 },
    { expr: await dashboardQuery('Instances that cannot sync (AWS)'), evalTime: '15m', value: 0 },
  ];
}

describe.skipIf(!hasNginx || !promtool)('a fresh daemon on a quiet cluster: metrics true, no alert', () => {
  it('reload mode: the start-up config is in the gauges from the first ready scrape; nothing fires', {
    timeout: 60_000,
  }, async () => {
    const { cluster } = await quietCluster();
    const bundle = await makeBundle(['web']);
    world.defer(() => bundle.cleanup());
    const daemon = await started(daemonEnv(cluster, bundle, withQueue()));
    const first = await firstScrape(daemon);
    // From the very first scrape: no reload has failed, and nothing claims one happened in 1970.
    expect(metricValue(first, 'ecs_ingress_nginx_last_reload_success')).toBe(1);
    await untilReady(daemon);
    const ready = await scrape(daemon);
    expectServedConfigGauges(ready);
    expect(metricValue(ready, 'ecs_ingress_nginx_reloads_total{result="test_failed"}')).toBe(0);
    const later = await scrape(daemon);

    const result = await promtoolOverScrapes(promtool as string, [first, ready, later], {
      ...QUIET_WINDOW,
      exprs: await healthyOverview(),
    });
    expect(result.output).toContain('SUCCESS');
    expect(result.exitCode).toBe(0);
  });

  it.skipIf(!HAS_LUA_MODULES)(
    'dynamic mode: endpoints pushed without a reload still show in the gauges; nothing fires',
    async () => {
      const { cluster } = await quietCluster();
      // The bundle's stream server proxies to `tcp`: a service without tasks (its DOWN placeholder).
      world.aws.ecs.putService('tcp', { cluster });
      const bundle = await makeDynamicBundle('tcp');
      world.defer(() => bundle.cleanup());
      const controlPort = await freePort();
      const daemon = await started(
        daemonEnv(cluster, bundle, {
          ...withQueue(),
          ECS_INGRESS_UPSTREAM_MODE: 'dynamic',
          ECS_INGRESS_DYNAMIC_CONTROL_LISTEN: `127.0.0.1:${controlPort}`,
          ECS_INGRESS_STREAM_SERVICES: 'tcp',
        }),
      );
      const first = await firstScrape(daemon);
      await untilReady(daemon);
      const ready = await scrape(daemon);
      expectServedConfigGauges(ready, 2);
      // NGINX started on the first render: no reload was needed, none is claimed.
      expect(metricValue(ready, 'ecs_ingress_nginx_reloads_total{result="success"}')).toBe(0);
      const later = await scrape(daemon);

      const result = await promtoolOverScrapes(promtool as string, [first, ready, later], {
        ...QUIET_WINDOW,
        exprs: await healthyOverview(),
      });
      expect(result.output).toContain('SUCCESS');
      expect(result.exitCode).toBe(0);
    },
    60_000,
  );
});

interface ReadyzBody {
  ok: boolean;
  details: { reason?: string; code?: string; hint?: string; phase?: string };
}

/** Waits for /readyz to name a reason, and returns the body. */
async function readyzReason(daemon: DaemonProcess): Promise<{ status: number; body: ReadyzBody }> {
  return untilDaemon('/readyz to name a reason', daemon, async () => {
    const res = await get(`${daemon.adminUrl}/readyz`);
    const body = JSON.parse(res.body) as ReadyzBody;
    return body.details.reason === undefined ? undefined : { status: res.status, body };
  });
}

/** The daemon's JSON log lines. */
function logLines(daemon: DaemonProcess): Record<string, unknown>[] {
  return daemon
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe.skipIf(!hasNginx || !promtool)('a daemon that can never sync says why', () => {
  it.each([
    {
      name: 'a wrong cluster name',
      reason: 'cluster-not-found',
      code: 'ECS_INGRESS_CLUSTER_NOT_FOUND',
      hint: 'AWS_CLUSTER_NAME',
      env: (_home: string): Record<string, string> => ({}),
    },
    {
      name: 'no credentials',
      reason: 'no-credentials',
      code: 'ECS_INGRESS_AWS_NO_CREDENTIALS',
      hint: 'taskRoleArn',
      // No keys, no profile (an empty HOME), no container or instance credentials to find.
      env: (home: string): Record<string, string> => ({
        AWS_ACCESS_KEY_ID: '',
        AWS_SECRET_ACCESS_KEY: '',
        HOME: home,
        AWS_CONFIG_FILE: join(home, 'config'),
        AWS_SHARED_CREDENTIALS_FILE: join(home, 'credentials'),
      }),
    },
  ])(
    '$name: /readyz 503 with the reason, one error line with the hint, the alert fires',
    { timeout: 60_000 },
    async (c) => {
      const home = await mkdtemp(join(tmpdir(), 'ecs-ingress-home-'));
      world.defer(() => rm(home, { recursive: true, force: true }));
      const bundle = await makeBundle(['web']);
      world.defer(() => bundle.cleanup());
      const cluster = c.reason === 'cluster-not-found' ? `missing-${randomUUID().slice(0, 8)}` : 'default';
      if (c.reason !== 'cluster-not-found') world.aws.ecs.addCluster(cluster);
      const daemon = await started(daemonEnv(cluster, bundle, c.env(home)));
      const first = await firstScrape(daemon);

      const { status, body } = await readyzReason(daemon);
      expect(status).toBe(503);
      expect(body.details).toMatchObject({ reason: c.reason, code: c.code });
      expect(body.details.hint).toContain(c.hint);
      // Not restarted for it (a restart fixes neither a role nor a name): /healthz stays 200.
      expect((await get(`${daemon.adminUrl}/healthz`)).status).toBe(200);

      const errors = logLines(daemon).filter((l) => l.level === 'error' || l.level === 50);
      const problem = errors.filter((l) => l.code === c.code);
      expect(problem).toHaveLength(1);
      expect(String(problem[0]?.msg)).toContain(c.hint);

      const text = await scrape(daemon);
      expect(metricValue(text, `ecs_ingress_aws_permanent_error{reason="${c.reason}"}`)).toBe(1);
      expect(metricValue(text, 'ecs_ingress_full_syncs_total{result="error"}')).toBeGreaterThanOrEqual(1);
      expect(metricValue(text, 'ecs_ingress_full_syncs_total{result="success"}')).toBe(0);

      const result = await promtoolOverScrapes(promtool as string, [first, text], {
        minutes: 15,
        evalTimes: ['1m', '15m'],
        firing: [{ alertname: 'EcsIngressAwsPermanentError', evalTime: '15m', labels: { reason: c.reason } }],
        // Fire too, depending on when the first scrape came: SyncFailing when it came before the
        // first failed sync (an increase to see); FallbackPolling when it came after the mode was
        // set (without a queue a daemon polls, and 15 minutes of it fire).
        ignore: ['EcsIngressSyncFailing', 'EcsIngressFallbackPolling'],
      });
      expect(result.output).toContain('SUCCESS');
      expect(result.exitCode).toBe(0);
    },
  );
});
