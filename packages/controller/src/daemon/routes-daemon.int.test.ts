/**
 * Routes from labels in the running daemon (issue 16): `ecs-ingress run` as a child process, real
 * NGINX on loopback, the wire-level ECS/EC2 fake (polling, no queue). A bundle that includes the
 * route files; services publish themselves with docker labels and are reached by Host header.
 */
import { randomUUID } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { buildAwsvpcTask, buildTaskDefinition } from '@ecs-ingress/testkit/aws';
import {
  type DaemonProcess,
  daemonBaseEnv,
  makeRoutesBundle,
  metricValue,
  spawnDaemon,
  type TestBundle,
  untilDaemon,
  useDaemonWorld,
} from '@ecs-ingress/testkit/e2e';
import { type Backend, get, startBackend } from '@ecs-ingress/testkit/net';
import { hasNginx } from '@ecs-ingress/testkit/nginx';
import { describe, expect, it } from 'vitest';

const world = useDaemonWorld({ fauxqs: false });

/** GET `path` on NGINX with a Host header; the body, or `<status>` for anything but 200. */
function hostGet(port: number, host: string, path = '/'): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, headers: { host, connection: 'close' }, timeout: 3000 },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => resolve(res.statusCode === 200 ? body : `<${res.statusCode}>`));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

/**
 * A bundle with a server of its own (`bundle.example.com`, before the route files: NGINX keeps the
 * first server of a name, so a label route for that host is shadowed) and the route files.
 */
async function routesBundle(): Promise<TestBundle & { port: number }> {
  const bundle = await makeRoutesBundle((port) => [
    '  proxy_connect_timeout 2s;',
    '  server {',
    `    listen 127.0.0.1:${port};`,
    '    server_name bundle.example.com;',
    '    location / { return 200 "bundle"; }',
    '  }',
  ]);
  world.defer(() => bundle.cleanup());
  return { ...bundle, port: bundle.nginxPort };
}

interface DebugRoutes {
  routes: { service: string; route: string; state: string; code?: string; reason: string }[];
  counts: Record<string, number>;
}

async function debugRoutes(daemon: DaemonProcess): Promise<DebugRoutes> {
  return JSON.parse((await get(`${daemon.debugUrl}/debug/routes`)).body) as DebugRoutes;
}

/** `untilDaemon` at this file's pace: 200 × 100 ms. */
function until<T>(what: string, daemon: DaemonProcess, probe: () => Promise<T | undefined>): Promise<T> {
  return untilDaemon(what, daemon, probe, { rounds: 200 });
}

function daemonEnv(cluster: string, bundle: TestBundle & { port: number }) {
  return {
    ...daemonBaseEnv(world.aws.url, cluster, bundle),
    AWS_ENDPOINT_URL_EVENTBRIDGE: world.aws.url,
    ECS_INGRESS_QUEUE_MODE: 'none',
    ECS_INGRESS_ROUTES_HTTP_LISTEN: `127.0.0.1:${bundle.port}`,
    ECS_INGRESS_ROUTES_DEFAULT_SERVER: 'on',
    ECS_INGRESS_DEBOUNCE_MIN: '50ms',
    ECS_INGRESS_DEBOUNCE_MAX: '300ms',
    ECS_INGRESS_MIN_RELOAD_INTERVAL: '100ms',
    ECS_INGRESS_POLL_INTERVAL: '300ms',
    ECS_INGRESS_BUNDLE_CHECK_INTERVAL: '300ms',
    ECS_INGRESS_LOG_LEVEL: 'info',
  };
}

describe.skipIf(!hasNginx)('routes from labels in the daemon (end to end)', () => {
  it('publishes by Host, switches on a new revision in one apply, reports conflicts and shadows', async () => {
    const cluster = `routes-${randomUUID().slice(0, 8)}`;
    world.aws.ecs.addCluster(cluster);
    const backends: Backend[] = [];
    const backend = async (name: string, host: string) => {
      const b = await startBackend(name, host);
      backends.push(b);
      world.defer(() => b.close());
      return b;
    };
    const v1 = await backend('shop-v1', '127.0.0.2');
    const admin = await backend('shop-admin', '127.0.0.2');
    const v2 = await backend('shop-v2', '127.0.0.3');
    const copy = await backend('shop-copy', '127.0.0.4');
    const other = await backend('other', '127.0.0.5');
    const bundle = await routesBundle();

    const service = (
      name: string,
      family: string,
      revision: number,
      port: number,
      labels: Record<string, string>,
      ip: string,
    ) => {
      const def = world.aws.ecs.putTaskDefinition(
        buildTaskDefinition({
          family,
          revision,
          networkMode: 'awsvpc',
          containers: [{ name: 'app', containerPort: port, dockerLabels: labels }],
        }),
      );
      return world.aws.ecs.putTask(
        buildAwsvpcTask({ cluster, service: name, ip, taskDefinitionArn: def.taskDefinitionArn! }),
      );
    };
    // ECS createdAt (DescribeServices) decides seniority: shop is the oldest.
    for (const [i, name] of ['shop', 'shop-copy', 'other'].entries())
      world.aws.ecs.putService(name, { cluster, createdAt: new Date(Date.UTC(2024, 0, 1 + i)) });
    const shopV1 = service(
      'shop',
      'shop',
      1,
      v1.port,
      {
        'ecs-ingress.http.hosts': 'shop.example.com',
        'ecs-ingress.http.path': '/v1',
        'ecs-ingress.http.admin.hosts': 'admin.example.com',
        'ecs-ingress.http.admin.port': String(admin.port),
      },
      '127.0.0.2',
    );
    // Same host and path as shop: the younger (created after `shop`) loses.
    service(
      'shop-copy',
      'shop-copy',
      1,
      copy.port,
      { 'ecs-ingress.http.hosts': 'shop.example.com', 'ecs-ingress.http.path': '/v1' },
      '127.0.0.4',
    );
    // The bundle has a server for this host: the bundle wins, the route is reported shadowed.
    service(
      'other',
      'other',
      1,
      other.port,
      { 'ecs-ingress.http.hosts': 'bundle.example.com', 'ecs-ingress.http.x.bad': 'x' },
      '127.0.0.5',
    );

    const daemon = await spawnDaemon(daemonEnv(cluster, bundle));
    world.defer(() => daemon.kill(5000));
    await until('the daemon to be ready', daemon, async () =>
      (await get(`${daemon.adminUrl}/readyz`)).status === 200 ? true : undefined,
    );

    // Reachable by Host header; other paths of the host and unknown hosts: 404.
    await until('shop.example.com/v1 → shop-v1', daemon, async () =>
      (await hostGet(bundle.port, 'shop.example.com', '/v1')) === 'shop-v1' ? true : undefined,
    );
    expect(await hostGet(bundle.port, 'shop.example.com', '/v2')).toBe('<404>');
    expect(await hostGet(bundle.port, 'nobody.example.com', '/v1')).toBe('<404>');
    // The port route has its own upstream `shop.port-<n>` with the same task at that port.
    expect(await hostGet(bundle.port, 'admin.example.com', '/')).toBe('shop-admin');
    expect((await get(`${daemon.debugUrl}/debug/upstreams`)).body).toContain(`shop.port-${admin.port}`);

    // The conflict is reported and not rendered: shop keeps the route (shop-copy waits its turn).
    for (let i = 0; i < 5; i++) expect(await hostGet(bundle.port, 'shop.example.com', '/v1')).toBe('shop-v1');
    const shadowed = await until('the bundle host to be reported shadowed', daemon, async () => {
      const view = await debugRoutes(daemon);
      return view.routes.some((r) => r.service === 'other' && r.state === 'shadowed') ? view : undefined;
    });
    expect(shadowed.routes).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ service: 'shop', route: 'default', state: 'active' }),
        expect.objectContaining({ service: 'shop', route: 'admin', state: 'active' }),
        expect.objectContaining({
          service: 'shop-copy',
          route: 'default',
          state: 'conflict',
          code: 'ECS_INGRESS_ROUTE_CONFLICT',
        }),
        expect.objectContaining({
          service: 'other',
          route: 'default',
          state: 'shadowed',
          code: 'ECS_INGRESS_ROUTE_SHADOWED',
        }),
        expect.objectContaining({ service: 'other', route: 'x', state: 'invalid' }),
      ]),
    );
    expect(await hostGet(bundle.port, 'bundle.example.com', '/')).toBe('bundle');
    const metrics = (await get(`${daemon.adminUrl}/metrics`)).body;
    expect(metricValue(metrics, 'ecs_ingress_routes{state="conflict"}')).toBe(1);
    expect(metricValue(metrics, 'ecs_ingress_routes{state="shadowed"}')).toBe(1);
    expect(metricValue(metrics, 'ecs_ingress_routes{state="active"}')).toBe(2);
    expect(
      metricValue(metrics, 'ecs_ingress_route_invalid_total{code="ECS_INGRESS_ROUTE_UNKNOWN_KEY"}'),
    ).toBe(1);

    // A deploy: revision 2 changes the path. Its first admitted task is the newest: the route
    // switches to /v2 in the same apply that adds the task (one reload), with v1 still running.
    const reloadsBefore = metricValue(metrics, 'ecs_ingress_nginx_reloads_total{result="success"}') ?? 0;
    service(
      'shop',
      'shop',
      2,
      v2.port,
      { 'ecs-ingress.http.hosts': 'shop.example.com', 'ecs-ingress.http.path': '/v2' },
      '127.0.0.3',
    );
    await until('shop.example.com/v2 to be served', daemon, async () =>
      (await hostGet(bundle.port, 'shop.example.com', '/v2')) !== '<404>' ? true : undefined,
    );
    // /v1 is free now: the next service in seniority that claimed it (shop-copy) takes it in the same
    // apply. Polled: during a reload, workers of the old generation may still answer a request.
    await until('shop.example.com/v1 → shop-copy', daemon, async () =>
      (await hostGet(bundle.port, 'shop.example.com', '/v1')) === 'shop-copy' ? true : undefined,
    );
    // The reload is counted once the apply is recorded, a moment after NGINX serves it.
    const reloads = async () =>
      metricValue(
        (await get(`${daemon.adminUrl}/metrics`)).body,
        'ecs_ingress_nginx_reloads_total{result="success"}',
      ) ?? 0;
    await until('the reload to be counted', daemon, async () =>
      (await reloads()) > reloadsBefore ? true : undefined,
    );
    expect(await reloads()).toBe(reloadsBefore + 1);
    // Both tasks serve the service's upstream until v1 stops; the admin route is gone with rev 1's labels.
    await until('shop-v1 and shop-v2 to serve /v2', daemon, async () => {
      const served = new Set<string>();
      for (let i = 0; i < 8; i++) served.add(await hostGet(bundle.port, 'shop.example.com', '/v2'));
      return [...served].sort().join(' ') === 'shop-v1 shop-v2' ? true : undefined;
    });
    await until('the admin route to be gone with revision 1', daemon, async () =>
      (await hostGet(bundle.port, 'admin.example.com', '/')) === '<404>' ? true : undefined,
    );
    world.aws.ecs.updateTask(shopV1.taskArn!, { desiredStatus: 'STOPPED', lastStatus: 'DEACTIVATING' });
    await until('only shop-v2 to serve /v2', daemon, async () => {
      const names = new Set<string>();
      for (let i = 0; i < 6; i++) names.add(await hostGet(bundle.port, 'shop.example.com', '/v2'));
      return names.size === 1 && names.has('shop-v2') ? true : undefined;
    });

    // A new bundle without the bundle.example.com server: what the old one shadowed is found anew,
    // and the label route takes the host.
    const conf = join(bundle.bundleDir, 'nginx.conf');
    await writeFile(
      conf,
      (await readFile(conf, 'utf8')).replace(
        'server_name bundle.example.com;',
        'server_name bundle-old.example.com;',
      ),
    );
    await until('the label route to take bundle.example.com', daemon, async () =>
      (await hostGet(bundle.port, 'bundle.example.com', '/')) === 'other' ? true : undefined,
    );
    const view = await debugRoutes(daemon);
    expect(view.routes).toContainEqual(
      expect.objectContaining({ service: 'other', route: 'default', state: 'active' }),
    );
    expect(view.counts.shadowed).toBe(0);
  }, 120_000);
  /**
   * Seniority is ECS's `createdAt`, not the name: `aaa-newcomer` (created 2024, its name sorts
   * first) claims the host and path of `zzz-incumbent` (created 2023). Whichever shows up first,
   * the incumbent ends up serving; when the incumbent is already serving, the newcomer never takes
   * a single request from it (its age is unknown until DescribeServices answers: the youngest).
   */
  it.each(['incumbent first', 'newcomer first'] as const)(
    'the older ECS service keeps a contested route whatever the names (%s)',
    async (order) => {
      const cluster = `seniority-${randomUUID().slice(0, 8)}`;
      world.aws.ecs.addCluster(cluster);
      const incumbent = await startBackend('zzz-incumbent', '127.0.0.2');
      const newcomer = await startBackend('aaa-newcomer', '127.0.0.3');
      world.defer(() => incumbent.close());
      world.defer(() => newcomer.close());
      const bundle = await routesBundle();
      const labels = { 'ecs-ingress.http.hosts': 'shop.example.com', 'ecs-ingress.http.path': '/api' };
      const publish = (name: string, port: number, ip: string, createdAt: Date) => {
        world.aws.ecs.putService(name, { cluster, createdAt });
        const def = world.aws.ecs.putTaskDefinition(
          buildTaskDefinition({
            family: name,
            revision: 1,
            networkMode: 'awsvpc',
            containers: [{ name: 'app', containerPort: port, dockerLabels: labels }],
          }),
        );
        world.aws.ecs.putTask(
          buildAwsvpcTask({ cluster, service: name, ip, taskDefinitionArn: def.taskDefinitionArn! }),
        );
      };
      const publishIncumbent = () =>
        publish('zzz-incumbent', incumbent.port, '127.0.0.2', new Date('2023-03-01T00:00:00Z'));
      const publishNewcomer = () =>
        publish('aaa-newcomer', newcomer.port, '127.0.0.3', new Date('2024-06-01T00:00:00Z'));
      const first = order === 'incumbent first' ? publishIncumbent : publishNewcomer;
      const second = order === 'incumbent first' ? publishNewcomer : publishIncumbent;
      const firstName = order === 'incumbent first' ? 'zzz-incumbent' : 'aaa-newcomer';

      first();
      const daemon = await spawnDaemon(daemonEnv(cluster, bundle));
      world.defer(() => daemon.kill(5000));
      await until(`${firstName} to serve the route alone`, daemon, async () =>
        (await hostGet(bundle.port, 'shop.example.com', '/api')) === firstName ? true : undefined,
      );
      const describedHere = () =>
        world.aws
          .requests('ecs', 'DescribeServices')
          .filter((c) => String(c.input.cluster).endsWith(cluster))
          .flatMap((c) => c.input.services as string[]);
      await until(`${firstName} to be described`, daemon, async () =>
        describedHere().includes(firstName) ? true : undefined,
      );

      second();
      const served = new Set<string>();
      const view = await until('the newcomer to be reported in conflict', daemon, async () => {
        served.add(await hostGet(bundle.port, 'shop.example.com', '/api'));
        const routes = await debugRoutes(daemon);
        const loser = routes.routes.find((r) => r.service === 'aaa-newcomer');
        return loser?.state === 'conflict' ? routes : undefined;
      });
      expect(view.routes).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ service: 'zzz-incumbent', route: 'default', state: 'active' }),
          expect.objectContaining({
            service: 'aaa-newcomer',
            route: 'default',
            state: 'conflict',
            code: 'ECS_INGRESS_ROUTE_CONFLICT',
            reason: 'prefix /api on shop.example.com is held by zzz-incumbent/default (older)',
          }),
        ]),
      );
      // Polled: during a reload, workers of the old generation may still answer a request.
      await until('only the incumbent to serve the route', daemon, async () => {
        const names = new Set<string>();
        for (let i = 0; i < 5; i++) names.add(await hostGet(bundle.port, 'shop.example.com', '/api'));
        return names.size === 1 && names.has('zzz-incumbent') ? true : undefined;
      });
      // A serving incumbent never lost a request to the newcomer on the way.
      if (order === 'incumbent first') expect([...served]).toEqual(['zzz-incumbent']);
      // Each exposed service is described once, however many polls ran meanwhile.
      const described = describedHere();
      expect(described.filter((n) => n === 'zzz-incumbent')).toHaveLength(1);
      expect(described.filter((n) => n === 'aaa-newcomer')).toHaveLength(1);
    },
    120_000,
  );
});
