import type { ServiceRouteSource } from '@ecs-ingress/store';
import type { Upstream } from '@ecs-ingress/types';
import { silentLogger } from '@ecs-ingress/types';
import { describe, expect, it } from 'vitest';
import { isEndpointOnlyChange, renderDynamicConfig } from '../dynamic/dynamic-render.js';
import { withStreamUpstreams } from '../dynamic/runtime-dynamic.js';
import { createRoutesRenderer } from '../routes/routes-renderer.js';
import {
  combineConfigHash,
  createStateRender,
  type RuntimeDerivation,
  runtimeMetaOf,
} from './render-config.js';

const upstreamsPath = '/work/upstreams.conf';

function routes() {
  return createRoutesRenderer({
    httpFile: '/work/routes.http.conf',
    streamFile: '/work/routes.stream.conf',
    settings: { tcpPorts: [{ from: 5432, to: 5432 }] },
    render: { bundleDir: '/work/current' },
  });
}

function source(path: string, labels?: Record<string, string>): ServiceRouteSource {
  return {
    service: 'shop',
    clusterArn: 'arn:aws:ecs:us-east-1:123456789012:cluster/c',
    labels: labels ?? { 'ecs-ingress.http.hosts': 'shop.example.com', 'ecs-ingress.http.path': path },
    taskDefinitionArn: 'td',
  };
}

function shop(...ips: string[]): Upstream[] {
  return [
    { name: 'shop', servers: ips.map((address) => ({ address, port: 8080, taskArn: `t-${address}` })) },
  ];
}

const dynamicParts = {
  render(upstreams: readonly Upstream[], extraMeta: Record<string, unknown>, stream?: readonly string[]) {
    const config = renderDynamicConfig(upstreams, {
      streamServices: withStreamUpstreams('none', stream),
      httpUpstreamsFile: upstreamsPath,
      preambleFile: '/work/dynamic.conf',
      streamUpstreamsFile: '/work/upstreams.stream.conf',
      controlListen: '127.0.0.1:10255',
      luaPackagePath: '/usr/share/ecs-ingress/lua',
    });
    return { ...config, meta: { ...extraMeta, ...(config.meta as object) } };
  },
};

describe('createStateRender', () => {
  it('reload mode without routes: the upstreams file alone, its own hash', () => {
    const render = createStateRender<RuntimeDerivation>({
      derive: (d) => d,
      upstreamsPath,
      logger: silentLogger,
    });
    const config = render({ upstreams: shop('192.0.2.1') });
    expect(config.files.map((f) => f.path)).toEqual([upstreamsPath]);
    expect(config.hash).toBe(combineConfigHash(config.hash, undefined));
    expect(runtimeMetaOf(config)?.routes).toBeUndefined();
  });

  it('reload mode with routes: three files, one hash that moves with either part', () => {
    const render = createStateRender<RuntimeDerivation>({
      derive: (d) => d,
      upstreamsPath,
      routes: routes(),
      logger: silentLogger,
    });
    const base = render({ upstreams: shop('192.0.2.1'), routeSources: [source('/v1')] });
    expect(base.files.map((f) => f.path)).toEqual([
      upstreamsPath,
      '/work/routes.http.conf',
      '/work/routes.stream.conf',
    ]);
    expect(runtimeMetaOf(base)?.routes?.table.hosts.map((h) => h.host)).toEqual(['shop.example.com']);
    const endpoint = render({ upstreams: shop('192.0.2.2'), routeSources: [source('/v1')] });
    const route = render({ upstreams: shop('192.0.2.1'), routeSources: [source('/v2')] });
    expect(new Set([base.hash, endpoint.hash, route.hash]).size).toBe(3);
    expect(render({ upstreams: shop('192.0.2.1'), routeSources: [source('/v1')] }).hash).toBe(base.hash);
  });

  it('dynamic mode: a route change is structural (reload), an endpoint change stays quick', () => {
    const render = createStateRender<RuntimeDerivation>({
      derive: (d) => d,
      upstreamsPath,
      dynamic: dynamicParts,
      routes: routes(),
      logger: silentLogger,
    });
    const base = render({ upstreams: shop('192.0.2.1'), routeSources: [source('/v1')] });
    expect(base.files.map((f) => f.path)).toContain('/work/routes.http.conf');
    const endpoint = render({ upstreams: shop('192.0.2.2'), routeSources: [source('/v1')] });
    const route = render({ upstreams: shop('192.0.2.1'), routeSources: [source('/v2')] });
    expect(endpoint.hash).not.toBe(base.hash);
    expect(isEndpointOnlyChange(endpoint, base.meta)).toBe(true);
    expect(route.hash).not.toBe(base.hash);
    expect(isEndpointOnlyChange(route, base.meta)).toBe(false);
    expect(runtimeMetaOf(route)?.routes?.files[0]?.content).toContain('location /v2/');
  });

  it('dynamic mode: the upstream of a tcp route is written into the stream upstreams file', () => {
    const render = createStateRender<RuntimeDerivation>({
      derive: (d) => d,
      upstreamsPath,
      dynamic: dynamicParts,
      routes: routes(),
      logger: silentLogger,
    });
    const db: ServiceRouteSource = {
      ...source('/'),
      service: 'db',
      labels: { 'ecs-ingress.tcp.pg.listen': '5432', 'ecs-ingress.tcp.pg.port': '5432' },
    };
    const config = render({
      upstreams: [
        ...shop('192.0.2.1'),
        { name: 'db.port-5432', servers: [{ address: '192.0.2.7', port: 5432, taskArn: 't' }] },
      ],
      routeSources: [source('/v1'), db],
    });
    const stream = config.files.find((f) => f.path === '/work/upstreams.stream.conf')?.content ?? '';
    expect(stream).toContain('upstream db.port-5432 {');
    expect(stream).toContain('server 192.0.2.7:5432;');
    expect(stream).not.toContain('upstream shop');
  });
});

describe('withStreamUpstreams', () => {
  it.each([
    ['none', [], 'none'],
    ['none', ['db.port-5432'], ['db.port-5432']],
    ['all', ['db.port-5432'], 'all'],
    [
      ['web', 'db.port-5432'],
      ['db.port-5432', 'cache.port-6379'],
      ['web', 'db.port-5432', 'cache.port-6379'],
    ],
  ] as const)('%j + %j = %j', (base, extra, want) => {
    expect(withStreamUpstreams(base, extra)).toEqual(want);
  });
});
