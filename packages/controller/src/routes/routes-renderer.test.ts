import type { ServiceRouteSource } from '@ecs-ingress/store';
import type { RouteState } from '@ecs-ingress/types';
import { describe, expect, it } from 'vitest';
import {
  combineRoutesHash,
  createRoutesRenderer,
  type RoutesHooks,
  readRoutesHash,
  routesDebugView,
} from './routes-renderer.js';

function source(service: string, labels: Record<string, string>): ServiceRouteSource {
  return {
    service,
    clusterArn: 'arn:aws:ecs:us-east-1:123456789012:cluster/c',
    labels,
    taskDefinitionArn: 'td',
  };
}

function recordingHooks(): RoutesHooks & { tables: Record<RouteState, number>[]; invalid: string[] } {
  const tables: Record<RouteState, number>[] = [];
  const invalid: string[] = [];
  return {
    tables,
    invalid,
    onTable: (counts) => tables.push({ ...counts }),
    onInvalid: (code) => invalid.push(code),
  };
}

function renderer(hooks?: RoutesHooks) {
  return createRoutesRenderer({
    httpFile: '/work/routes.http.conf',
    streamFile: '/work/routes.stream.conf',
    settings: { tcpPorts: [{ from: 5432, to: 5432 }] },
    render: { bundleDir: '/work/current', httpListen: ['127.0.0.1:8080'] },
    ...(hooks === undefined ? {} : { hooks }),
  });
}

const shopLabels = { 'ecs-ingress.http.hosts': 'shop.example.com' };

describe('createRoutesRenderer', () => {
  it('renders both files from the sources, with the hash of their bodies', () => {
    const routes = renderer();
    const result = routes.render([
      source('shop', shopLabels),
      source('db', { 'ecs-ingress.tcp.pg.listen': '5432', 'ecs-ingress.tcp.pg.port': '5432' }),
    ]);
    const [http, stream] = result.files;
    expect(http?.path).toBe('/work/routes.http.conf');
    expect(http?.content).toContain('server_name shop.example.com;');
    expect(http?.content).toContain('proxy_pass http://shop;');
    expect(stream?.content).toContain('proxy_pass db.port-5432;');
    const httpHash = readRoutesHash(http?.content ?? '', 'http');
    const streamHash = readRoutesHash(stream?.content ?? '', 'stream');
    expect(result.hash).toBe(combineRoutesHash(httpHash ?? '', streamHash ?? ''));
    expect(readRoutesHash('upstream x {}\n', 'http')).toBeUndefined();
  });

  it('does not resolve again while the services and their labels objects are the same', () => {
    const hooks = recordingHooks();
    const routes = renderer(hooks);
    const labels = { ...shopLabels };
    const first = routes.render([source('shop', labels)]);
    // New source objects (a task changed), same labels object: the same result, no new table.
    expect(routes.render([source('shop', labels)])).toBe(first);
    expect(hooks.tables).toHaveLength(1);
    // Equal labels in a new object (a new revision): resolved again, same bytes.
    const again = routes.render([source('shop', { ...shopLabels })]);
    expect(again).not.toBe(first);
    expect(again.hash).toBe(first.hash);
    expect(hooks.tables).toHaveLength(2);
  });

  it('counts routes by state, and an invalid route once until it changes', () => {
    const hooks = recordingHooks();
    const routes = renderer(hooks);
    const bad = source('bad', { 'ecs-ingress.http.hosts': 'a.example.com', 'ecs-ingress.http.snippet': 'x' });
    routes.render([source('shop', shopLabels), source('shop-copy', shopLabels), bad]);
    expect(hooks.tables.at(-1)).toEqual({ active: 1, shadowed: 0, conflict: 1, invalid: 1 });
    expect(hooks.invalid).toEqual(['ECS_INGRESS_ROUTE_UNKNOWN_KEY']);
    routes.render([source('shop', shopLabels), { ...bad }]);
    expect(hooks.invalid).toHaveLength(1);
  });

  it('marks a rendered host that NGINX reports as a conflicting server name shadowed', () => {
    const routes = renderer();
    routes.render([
      source('shop', shopLabels),
      source('api', { 'ecs-ingress.http.hosts': 'api.example.com' }),
    ]);
    const output = [
      'nginx: [warn] conflicting server name "shop.example.com" on 127.0.0.1:8080, ignored',
      'nginx: [warn] conflicting server name "other.example.com" on 127.0.0.1:8080, ignored',
      'nginx: the configuration file /x/nginx.conf syntax is ok',
    ].join('\n');
    expect(routes.observeTestOutput(output)).toBe(true);
    // Only hosts we render count, and a host already known is not news.
    expect(routes.observeTestOutput(output)).toBe(false);
    const after = routes.render([
      source('shop', shopLabels),
      source('api', { 'ecs-ingress.http.hosts': 'api.example.com' }),
    ]);
    expect(after.table.reports.find((r) => r.service === 'shop')).toMatchObject({
      state: 'shadowed',
      code: 'ECS_INGRESS_ROUTE_SHADOWED',
    });
    expect(after.files[0]?.content).not.toContain('shop.example.com');
    expect(after.files[0]?.content).toContain('api.example.com');
    // Another bundle: found anew.
    routes.resetShadows();
    const reset = routes.render([
      source('shop', shopLabels),
      source('api', { 'ecs-ingress.http.hosts': 'api.example.com' }),
    ]);
    expect(reset.files[0]?.content).toContain('shop.example.com');
  });

  it('holds routes that failed nginx -t at the ones last applied, until the labels change', () => {
    const routes = renderer();
    const good = routes.render([source('shop', shopLabels)]);
    routes.applied(good);
    const tls = { 'ecs-ingress.http.hosts': 'shop.example.com', 'ecs-ingress.http.tls': 'bundle:missing' };
    const bad = routes.render([source('shop', tls)]);
    expect(bad.hash).not.toBe(good.hash);
    expect(routes.refuse(bad, 'cannot load certificate')).toBe(true);
    const held = routes.render([source('shop', tls)]);
    expect(held.hash).toBe(good.hash);
    expect(held.files).toBe(good.files);
    expect(held.held).toEqual({ refusedHash: bad.hash, reason: 'cannot load certificate' });
    // The report shows the table the labels give, with the hold beside it.
    expect(routesDebugView(good, held)).toMatchObject({
      liveHash: good.hash,
      held: { refusedHash: bad.hash },
    });
    // Refusing the held (or the applied) output again says nothing new.
    expect(routes.refuse(held, 'x')).toBe(false);
    // Labels changed: rendered (and tried) again.
    const next = routes.render([
      source('shop', { 'ecs-ingress.http.hosts': 'shop.example.com', 'ecs-ingress.http.path': '/v2' }),
    ]);
    expect(next.held).toBeUndefined();
    expect(next.files[0]?.content).toContain('location /v2/');
  });

  it('without routes applied yet, a refused output is not held (nothing to hold it at)', () => {
    const routes = renderer();
    const bad = routes.render([source('shop', shopLabels)]);
    expect(routes.refuse(bad, 'x')).toBe(false);
  });
});

describe('routesDebugView', () => {
  it('lists every route with its counts (seniority without createdAt: the service name)', () => {
    const routes = renderer();
    const latest = routes.render([source('shop', shopLabels), source('shop-copy', shopLabels)]);
    const view = routesDebugView(undefined, latest);
    expect(view.counts).toEqual({ active: 1, shadowed: 0, conflict: 1, invalid: 0 });
    expect(view.routes.map((r) => `${r.service}:${r.state}`)).toEqual(['shop:active', 'shop-copy:conflict']);
    expect(routesDebugView(undefined, undefined)).toEqual({
      routes: [],
      counts: { active: 0, shadowed: 0, conflict: 0, invalid: 0 },
    });
  });
});
