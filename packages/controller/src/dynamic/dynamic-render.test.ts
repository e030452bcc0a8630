import type { Upstream } from '@ecs-ingress/types';
import { describe, expect, it } from 'vitest';
import {
  type DynamicRenderMemo,
  type DynamicRenderOptions,
  dynamicMetaOf,
  isEndpointOnlyChange,
  parseStreamServices,
  renderDynamic,
  renderDynamicConfig,
} from './dynamic-render.js';

const server = (address: string, port: number) => ({ address, port, taskArn: `arn:task/${address}:${port}` });
const up = (name: string, ...servers: [string, number][]): Upstream => ({
  name,
  servers: servers.map(([a, p]) => server(a, p)),
});

const OPTIONS: DynamicRenderOptions = {
  httpUpstreamsFile: '/n/upstreams.conf',
  preambleFile: '/n/ecs-ingress-dynamic.conf',
  streamUpstreamsFile: '/n/stream-upstreams.conf',
  controlListen: '127.0.0.1:10255',
  luaPackagePath: '/app/lua',
};

const BASE = [up('web', ['10.0.0.2', 80], ['10.0.0.1', 80]), up('api', ['10.0.1.1', 8080])];

describe('renderDynamic', () => {
  it('renders the three files and sorted endpoints', () => {
    const { config, endpoints } = renderDynamic(BASE, OPTIONS);
    expect(config.files.map((f) => f.path)).toEqual([
      OPTIONS.httpUpstreamsFile,
      OPTIONS.preambleFile,
      OPTIONS.streamUpstreamsFile,
    ]);
    expect(endpoints).toEqual({ api: ['10.0.1.1:8080'], web: ['10.0.0.1:80', '10.0.0.2:80'] });
    const [http, preamble, stream] = config.files.map((f) => f.content);
    expect(http).toContain('balance("web")');
    expect(http).not.toContain('10.0.0.1');
    expect(preamble).toContain('init({ "api", "web" })');
    expect(stream).not.toMatch(/^upstream /m);
  });

  it.each<[string, Upstream[]]>([
    ['endpoints replaced', [up('web', ['10.0.0.9', 80]), up('api', ['10.0.1.1', 8080])]],
    ['endpoints removed', [up('web'), up('api')]],
    ['order changed', [BASE[1]!, BASE[0]!]],
  ])('keeps the structural hash when only endpoints change (%s)', (_title, next) => {
    const before = renderDynamic(BASE, OPTIONS);
    const after = renderDynamic(next, OPTIONS);
    expect(after.config.hash).toBe(before.config.hash);
    expect(after.config.files).toEqual(before.config.files);
  });

  it('with a memo, renders the structural files again only when the names or the stream file change', () => {
    const memo: DynamicRenderMemo = {};
    const options = { ...OPTIONS, streamServices: ['api'] };
    const first = renderDynamic(BASE, options, memo);
    // Endpoints of an http-only service: the remembered files, byte-equal to a render without memo.
    const moved = [up('web', ['10.0.0.9', 80]), BASE[1]!];
    const second = renderDynamic(moved, options, memo);
    expect(second.config.files).toBe(first.config.files);
    expect(second.config).toEqual(renderDynamic(moved, options).config);
    expect(second.endpoints.web).toEqual(['10.0.0.9:80']);
    // The stream service's endpoints are in the stream file: rendered again.
    const streamMoved = [BASE[0]!, up('api', ['10.0.1.2', 8080])];
    const third = renderDynamic(streamMoved, options, memo);
    expect(third.config.hash).not.toBe(first.config.hash);
    expect(third.config).toEqual(renderDynamic(streamMoved, options).config);
    // A new service: rendered again.
    const grown = [...streamMoved, up('batch')];
    const fourth = renderDynamic(grown, options, memo);
    expect(fourth.config).toEqual(renderDynamic(grown, options).config);
    expect(fourth.config.files[1]?.content).toContain('"batch"');
  });

  it.each<[string, Upstream[], Partial<DynamicRenderOptions>]>([
    ['a service appears', [...BASE, up('batch')], {}],
    ['a service disappears', [BASE[0]!], {}],
    ['keepalive changes', BASE, { keepalive: 8 }],
    ['control address changes', BASE, { controlListen: '127.0.0.1:1' }],
    ['stream services listed', BASE, { streamServices: ['api'] }],
  ])('changes the structural hash when %s', (_title, next, extra) => {
    expect(renderDynamic(next, { ...OPTIONS, ...extra }).config.hash).not.toBe(
      renderDynamic(BASE, OPTIONS).config.hash,
    );
  });

  it.each<[DynamicRenderOptions['streamServices'], string[]]>([
    ['none', []],
    [undefined, []],
    ['all', ['api', 'web']],
    [['api', 'missing'], ['api']],
  ])('stream file for streamServices %j', (streamServices, names) => {
    const options = streamServices === undefined ? OPTIONS : { ...OPTIONS, streamServices };
    const stream = renderDynamic(BASE, options).config.files[2]!.content;
    expect([...stream.matchAll(/^upstream (\S+) \{/gm)].map((m) => m[1])).toEqual(names);
  });

  it('moves the stream file (and the hash) with the endpoints of a listed stream service only', () => {
    const options = { ...OPTIONS, streamServices: ['api'] };
    const base = renderDynamic(BASE, options).config.hash;
    const webMoved = [up('web', ['10.0.0.7', 80]), BASE[1]!];
    const apiMoved = [BASE[0]!, up('api', ['10.0.1.7', 8080])];
    expect(renderDynamic(webMoved, options).config.hash).toBe(base);
    expect(renderDynamic(apiMoved, options).config.hash).not.toBe(base);
  });

  it('leaves unsafe and case-colliding names out of the files and the endpoints', () => {
    const { config, endpoints } = renderDynamic([...BASE, up('a b', ['10.0.0.5', 1]), up('Web')], OPTIONS);
    expect(Object.keys(endpoints).sort()).toEqual(['Web', 'api']);
    expect(config.files[1]!.content).toContain('init({ "Web", "api" })');
  });
});

describe('renderDynamicConfig', () => {
  it('hashes structure and endpoints, and carries both in meta', () => {
    const a = renderDynamicConfig(BASE, OPTIONS);
    const b = renderDynamicConfig([up('web', ['10.0.0.3', 80]), BASE[1]!], OPTIONS);
    const metaA = dynamicMetaOf(a);
    const metaB = dynamicMetaOf(b);
    expect(metaA?.structuralHash).toBe(metaB?.structuralHash);
    expect(a.hash).not.toBe(b.hash);
    expect(a.hash).toBe(`${metaA?.structuralHash}.${metaA?.endpointsHash}`);
    expect(metaB?.endpoints).toEqual({ api: ['10.0.1.1:8080'], web: ['10.0.0.3:80'] });
    expect(metaA?.serverCount).toBe(3);
  });

  it('is not fooled by a foreign meta', () => {
    expect(dynamicMetaOf({ meta: { upstreams: [] } })).toBeUndefined();
    expect(dynamicMetaOf({})).toBeUndefined();
  });
});

describe('parseStreamServices', () => {
  it.each<[string | undefined, unknown]>([
    [undefined, 'none'],
    ['', 'none'],
    ['none', 'none'],
    ['all', 'all'],
    ['api', ['api']],
    [' api , db,,api ', ['api', 'db']],
  ])('%j → %j', (value, expected) => {
    expect(parseStreamServices(value)).toEqual(expected);
  });
});

describe('isEndpointOnlyChange (the reconciler quickChange of dynamic mode)', () => {
  const meta = (upstreams: readonly Upstream[], options: Partial<DynamicRenderOptions> = {}) =>
    renderDynamicConfig(upstreams, { ...OPTIONS, ...options }).meta;
  it.each([
    {
      name: 'an endpoint moved',
      next: [up('web', ['10.0.0.3', 80]), up('api', ['10.0.1.1', 8080])],
      quick: true,
    },
    { name: 'a service lost every endpoint', next: [up('web'), up('api', ['10.0.1.1', 8080])], quick: true },
    { name: 'a service appeared', next: [...BASE, up('new', ['10.0.2.1', 80])], quick: false },
    { name: 'a service disappeared', next: [up('web', ['10.0.0.1', 80])], quick: false },
  ])('$name → quick $quick', ({ next, quick }) => {
    expect(isEndpointOnlyChange(renderDynamicConfig(next, OPTIONS), meta(BASE))).toBe(quick);
  });

  it.each([
    { name: 'the baseline is not a dynamic render', baseline: { upstreams: BASE } },
    { name: 'there is no baseline meta', baseline: undefined },
    { name: 'the stream file changed', baseline: meta(BASE, { streamServices: 'all' }) },
  ])('not quick when $name', ({ baseline }) => {
    const next = renderDynamicConfig([up('web', ['10.0.0.3', 80]), up('api', ['10.0.1.1', 8080])], {
      ...OPTIONS,
      streamServices: 'none',
    });
    expect(isEndpointOnlyChange(next, baseline)).toBe(false);
  });
});
