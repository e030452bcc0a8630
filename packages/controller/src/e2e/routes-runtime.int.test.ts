/**
 * A bad route set cannot break serving (issue 16): routes whose render fails `nginx -t` (a TLS
 * certificate the bundle lacks) are held at the routes last applied, the upstream changes that
 * came with them still go live, and fixed labels are applied at once. Real NGINX, the real
 * runtime with routes on, events into the store.
 */
import { request } from 'node:http';
import { join } from 'node:path';
import { ClusterStore } from '@ecs-ingress/store';
import {
  aContainerDefinition,
  aPortMapping,
  aTaskDefinition,
  snapshotEvent,
  taskDefinitionEvent,
} from '@ecs-ingress/testkit';
import { makeTestPrefix, type TestPrefix, taskChange } from '@ecs-ingress/testkit/e2e';
import { freePort, pollUntil } from '@ecs-ingress/testkit/net';
import { hasNginx } from '@ecs-ingress/testkit/nginx';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type BackendGroup, startBackendGroup } from '../demo/backends.js';
import type { ApplyFailure } from '../reconciler/pipeline.js';
import { createRoutesRenderer, type RoutesRenderer } from '../routes/routes-renderer.js';
import { type Runtime, startRuntime } from '../runtime/runtime.js';

const HOSTS = ['127.0.0.51', '127.0.0.52', '127.0.0.53'] as const;
const IDS = ['a', 'b', 'c'] as const;

/** The task that answered a request for `host` (the backend's `x-demo-task`), or `<status>`. */
function hostGet(port: number, host: string, path = '/'): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, headers: { host, connection: 'close' }, timeout: 3000 },
      (res) => {
        res.resume();
        res.on('end', () =>
          resolve(res.statusCode === 200 ? String(res.headers['x-demo-task']) : `<${res.statusCode}>`),
        );
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

async function servedBy(port: number, host: string, path = '/'): Promise<string> {
  const names = new Set<string>();
  for (let i = 0; i < 8; i++) names.add(await hostGet(port, host, path));
  return [...names].sort().join(' ');
}

function revision(n: number, port: number, labels: Record<string, string>) {
  return taskDefinitionEvent(
    aTaskDefinition({
      taskDefinitionArn: `arn:aws:ecs:us-east-1:111122223333:task-definition/web:${n}`,
      family: 'web',
      revision: n,
      containers: [
        aContainerDefinition({
          name: 'web',
          dockerLabels: labels,
          portMappings: [aPortMapping({ containerPort: port })],
        }),
      ],
    }),
  );
}

describe.skipIf(!hasNginx)('routes in the runtime with a real NGINX', () => {
  let prefix: TestPrefix;
  let backends: BackendGroup;
  let runtime: Runtime | undefined;

  beforeEach(async () => {
    prefix = await makeTestPrefix();
    backends = await startBackendGroup(HOSTS.map((host, i) => ({ host, service: 'web', shortId: IDS[i]! })));
  });

  afterEach(async () => {
    await runtime?.stop();
    runtime = undefined;
    await backends.close();
    await prefix.cleanup();
  });

  it('holds routes that fail nginx -t at the last applied ones; upstream changes still go live', async () => {
    const routesPort = await freePort();
    const routesFile = join(prefix.dir, 'routes.http.conf');
    await prefix.writeConfig({ userHttp: `  include ${routesFile};` });
    const routes: RoutesRenderer = createRoutesRenderer({
      httpFile: routesFile,
      streamFile: join(prefix.dir, 'routes.stream.conf'),
      settings: { tcpPorts: [] },
      render: { bundleDir: prefix.dir, httpListen: [`127.0.0.1:${routesPort}`], defaultServer: true },
    });
    const store = new ClusterStore();
    store.dispatch(snapshotEvent({ services: ['web'] }));
    store.dispatch(revision(1, backends.port, { 'ecs-ingress.http.hosts': 'shop.example.com' }));
    // Revision 2 asks for a certificate the bundle does not have: nginx -t refuses its routes.
    store.dispatch(
      revision(2, backends.port, {
        'ecs-ingress.http.hosts': 'shop.example.com',
        'ecs-ingress.http.tls': 'bundle:missing',
      }),
    );
    store.dispatch(
      revision(3, backends.port, {
        'ecs-ingress.http.hosts': 'shop.example.com',
        'ecs-ingress.http.path': '/v3',
      }),
    );
    store.dispatch(taskChange({ id: 'a', service: 'web', host: HOSTS[0] }, 'RUNNING', 3));
    const failures: ApplyFailure[] = [];
    runtime = startRuntime({
      nginx: { configFile: prefix.configFile, prefix: prefix.dir },
      upstreamsFile: prefix.upstreamsFile,
      store,
      routes,
      debounce: { minMs: 20, maxMs: 100 },
      minReloadIntervalMs: 50,
    });
    runtime.failures$.subscribe((failure) => failures.push(failure));
    await runtime.ready;
    expect(await servedBy(routesPort, 'shop.example.com')).toBe('a');
    expect(await hostGet(routesPort, 'unknown.example.com')).toBe('<404>');

    // b runs revision 2: its routes fail the test, are held, and b still joins the upstream.
    store.dispatch(taskChange({ id: 'b', service: 'web', host: HOSTS[1], revision: 2 }, 'RUNNING', 3));
    // a and b serve shop.example.com.
    expect(await pollUntil(async () => (await servedBy(routesPort, 'shop.example.com')) === 'a b', 150)).toBe(
      true,
    );
    expect(failures.map((f) => f.stage)).toEqual(['test']);
    expect(failures[0]?.error.message).toContain('missing.crt');
    // /debug/routes shows the table the labels give, and that it is held.
    expect(routes.latest()?.held?.reason).toContain('missing.crt');
    const live = runtime.liveRoutes();
    expect(live?.files[0]?.content).not.toContain('ssl_certificate');
    expect(await hostGet(routesPort, 'shop.example.com', '/anything')).not.toBe('<404>');

    // c runs revision 3 (labels fixed): its routes go live at once.
    store.dispatch(taskChange({ id: 'c', service: 'web', host: HOSTS[2], revision: 3 }, 'RUNNING', 3));
    // The /v3 route is live: other paths of the host answer 404.
    expect(
      await pollUntil(
        async () => (await hostGet(routesPort, 'shop.example.com', '/anything')) === '<404>',
        150,
      ),
    ).toBe(true);
    // Polled: right after a reload, workers of the old generation may still take a request.
    expect(
      await pollUntil(async () => (await servedBy(routesPort, 'shop.example.com', '/v3')) === 'a b c', 150),
    ).toBe(true);
    expect(failures).toHaveLength(1);
    expect(routes.latest()?.held).toBeUndefined();
  });
});
