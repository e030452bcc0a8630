import { expectGolden, shuffled, xorshift } from '@ecs-ingress/testkit';
import { describe, expect, it } from 'vitest';
import {
  checkControlListen,
  DYNAMIC_PLACEHOLDER_SERVER,
  renderDynamicHttpPreamble,
  renderDynamicHttpUpstreams,
} from './dynamic.js';
import { RenderOptionError } from './errors.js';
import { readRenderedHash } from './hash.js';

const NAMES = ['web', 'api', 'batch-jobs', 'api.v2', 'a b', 'x;}', 'Web', 'svc_internal'];

describe('renderDynamicHttpUpstreams', () => {
  it('matches the golden file', () => {
    expectGolden('dynamic-upstreams.conf', renderDynamicHttpUpstreams(NAMES, { keepalive: 16 }).text);
  });

  it('puts keepalive after the balancer block in every upstream', () => {
    const { text } = renderDynamicHttpUpstreams(['web', 'api']);
    const blocks = text.split(/^upstream /m).slice(1);
    expect(blocks).toHaveLength(2);
    for (const block of blocks) {
      const balancer = block.indexOf('balancer_by_lua_block {');
      const keepalive = block.indexOf('keepalive 32;');
      expect(balancer).toBeGreaterThan(block.indexOf(DYNAMIC_PLACEHOLDER_SERVER));
      expect(keepalive).toBeGreaterThan(block.indexOf('}', balancer));
    }
  });

  it('omits keepalive when 0', () => {
    expect(renderDynamicHttpUpstreams(['web'], { keepalive: 0 }).text).not.toContain('keepalive');
  });

  it.each([-1, 1.5, 65536, Number.NaN])('rejects keepalive %d', (keepalive) => {
    expect(() => renderDynamicHttpUpstreams(['web'], { keepalive })).toThrow(RenderOptionError);
  });

  it('skips unsafe names and reports them; never puts them in a Lua string', () => {
    const result = renderDynamicHttpUpstreams(NAMES);
    expect(result.upstreamCount).toBe(5);
    expect(result.serverCount).toBe(0);
    expect(result.skipped.map((s) => s.name)).toEqual(['a b', 'x;}', 'web']);
    expect(result.text).toContain('balance("Web")');
    expect(result.text).not.toContain('x;}');
    expect(readRenderedHash(result.text)).toBe(result.hash);
  });

  it('is byte-identical for shuffled names', () => {
    const expected = renderDynamicHttpUpstreams(NAMES).text;
    const random = xorshift(7);
    for (let round = 0; round < 10; round++) {
      expect(renderDynamicHttpUpstreams(shuffled(NAMES, random)).text).toBe(expected);
    }
  });
});

describe('renderDynamicHttpPreamble', () => {
  it('matches the golden file', () => {
    expectGolden(
      'dynamic-preamble.conf',
      renderDynamicHttpPreamble(NAMES, { controlListen: '127.0.0.1:10255', luaPackagePath: '/app/lua' }),
    );
  });

  it.each([
    [[], 'init({})'],
    [['web'], 'init({ "web" })'],
    [['web', 'api', 'web'], 'init({ "api", "web" })'],
    [NAMES, 'init({ "Web", "api", "api.v2", "batch-jobs", "svc_internal" })'],
  ])('hands the known names %j to init(), sanitised and de-duplicated', (names, expected) => {
    const text = renderDynamicHttpPreamble(names, { controlListen: '127.0.0.1:1', luaPackagePath: '/l' });
    expect(text).toContain(`  require("ecs_ingress.control").init(${expected.slice('init('.length)}`);
    expect(text).not.toContain('x;}');
  });

  it('declares exactly one init, header filter and body filter', () => {
    const text = renderDynamicHttpPreamble(NAMES, { controlListen: '127.0.0.1:1', luaPackagePath: '/l' });
    for (const directive of ['init_by_lua_block', 'header_filter_by_lua_block', 'body_filter_by_lua_block']) {
      expect(text.split(`\n${directive} {`).length - 1).toBe(1);
    }
    expect(text).toContain('require("ecs_ingress.balancer").header_filter()');
    expect(text).toContain('require("ecs_ingress.balancer").body_filter()');
  });

  it.each([
    ['/app/lua', '"/app/lua/?.lua;;"'],
    ['/app/lua/', '"/app/lua/?.lua;;"'],
    ['/app/lua/?.lua', '"/app/lua/?.lua;;"'],
    ['/a/?.lua;/b', '"/a/?.lua;/b/?.lua;;"'],
  ])('lua_package_path from %j', (luaPackagePath, expected) => {
    const text = renderDynamicHttpPreamble(['web'], { controlListen: '127.0.0.1:1', luaPackagePath });
    expect(text).toContain(`lua_package_path ${expected};`);
  });

  it('uses the given dictionary and body sizes', () => {
    const text = renderDynamicHttpPreamble(['web'], {
      controlListen: 'unix:/run/ecs-ingress/control.sock',
      luaPackagePath: '/app/lua',
      dictSize: '16m',
      maxBodySize: '512k',
    });
    expect(text).toContain('lua_shared_dict ecs_ingress_endpoints 16m;');
    expect(text).toContain('client_max_body_size 512k;');
    expect(text).toContain('listen unix:/run/ecs-ingress/control.sock;');
  });

  it.each([
    { luaPackagePath: '' },
    { luaPackagePath: ';;' },
    { luaPackagePath: '/app/"lua' },
    { luaPackagePath: '/app/lua\n' },
    { luaPackagePath: '/app\\lua' },
    { luaPackagePath: '/app/lua', dictSize: '8 m' },
    { luaPackagePath: '/app/lua', dictSize: '0' },
    { luaPackagePath: '/app/lua', dictSize: '8m; deny all' },
    { luaPackagePath: '/app/lua', maxBodySize: '1g' },
  ])('rejects %j', (options) => {
    expect(() =>
      renderDynamicHttpPreamble(['web'], { controlListen: '127.0.0.1:10255', ...options }),
    ).toThrow(RenderOptionError);
  });
});

describe('checkControlListen', () => {
  it.each([
    '127.0.0.1:10255',
    '127.1.2.3:1',
    '127.255.255.255:65535',
    '[::1]:8080',
    'unix:/run/ecs-ingress/c.sock',
  ])('accepts %j', (value) => {
    expect(checkControlListen(value)).toBe(value);
  });

  it.each([
    '0.0.0.0:10255',
    '10.0.0.1:10255',
    '128.0.0.1:10255',
    '127.0.0.1',
    '127.0.0.1:0',
    '127.0.0.1:65536',
    '127.0.0.256:80',
    '127.0.0.01:80',
    'localhost:10255',
    '[::]:10255',
    '[::ffff:127.0.0.1]:80',
    '10255',
    '*:10255',
    '127.0.0.1:80; listen 0.0.0.0:80',
    '127.0.0.1:80 ',
    'unix:relative.sock',
    'unix:/a b',
    'unix:/x;',
    'unix:/a/../etc/x',
    `unix:/${'a'.repeat(107)}`,
    '',
  ])('rejects %j', (value) => {
    expect(() => checkControlListen(value)).toThrow(/controlListen: .* is not a loopback address/);
  });
});
