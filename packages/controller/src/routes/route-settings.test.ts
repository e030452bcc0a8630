import { ConfigError } from '@ecs-ingress/types';
import { describe, expect, it } from 'vitest';
import {
  defaultHost,
  hostAllowed,
  parseDefaultDomain,
  parseHostPolicy,
  parseTcpPorts,
  type RouteSettings,
  tcpPortAllowed,
} from './route-settings.js';

describe('ECS_INGRESS_HOST_POLICY', () => {
  const settings: RouteSettings = {
    hostPolicy: parseHostPolicy('orders-*=*.orders.example.com, orders.example.com ; *=*.apps.example.com'),
    tcpPorts: [],
  };

  it('parses rules in order', () => {
    expect(settings.hostPolicy).toEqual([
      { service: 'orders-*', hosts: ['*.orders.example.com', 'orders.example.com'] },
      { service: '*', hosts: ['*.apps.example.com'] },
    ]);
  });

  it.each([
    ['orders-api', 'api.orders.example.com', true],
    ['orders-api', 'a.b.orders.example.com', true],
    ['orders-api', '*.orders.example.com', true],
    ['orders-api', 'orders.example.com', true],
    ['orders-api', 'xorders.example.com', false],
    // The first matching rule decides: orders-* may not fall through to *.apps.
    ['orders-api', 'x.apps.example.com', false],
    ['shop', 'shop.apps.example.com', true],
    ['shop', 'apps.example.com', false],
    ['shop', 'api.orders.example.com', false],
  ])('%s may claim %s: %s', (service, host, allowed) => {
    expect(hostAllowed(settings, service, host)).toBe(allowed);
  });

  it('no policy allows any host; a policy no rule of which matches allows none', () => {
    expect(hostAllowed({ tcpPorts: [] }, 'x', 'anything.example')).toBe(true);
    expect(hostAllowed({ tcpPorts: [], hostPolicy: parseHostPolicy('a=*') }, 'b', 'x.example')).toBe(false);
    expect(
      hostAllowed({ tcpPorts: [], hostPolicy: parseHostPolicy('a*b*c=*') }, 'axxbyyc', 'x.example'),
    ).toBe(true);
    expect(
      hostAllowed({ tcpPorts: [], hostPolicy: parseHostPolicy('a*b*c=*') }, 'axxcyyb', 'x.example'),
    ).toBe(false);
    expect(parseHostPolicy(' ; ')).toEqual([]);
  });

  it.each([
    'orders',
    '=x.example.com',
    'a b=x.example.com',
    'a=x;y',
    'a=x.example.com/',
    'a=*.*.example.com',
    'a=',
    'a=$host',
  ])('rejects %j naming the variable', (text) => {
    expect(() => parseHostPolicy(text)).toThrow(ConfigError);
    expect(() => parseHostPolicy(text)).toThrow(/^ECS_INGRESS_HOST_POLICY: /);
  });
});

describe('ECS_INGRESS_DEFAULT_DOMAIN', () => {
  it('gives <service>.<domain>, lowercased, _ as -', () => {
    const settings: RouteSettings = { defaultDomain: parseDefaultDomain('Apps.Example.com'), tcpPorts: [] };
    expect(defaultHost(settings, 'Shop_Front')).toBe('shop-front.apps.example.com');
    expect(defaultHost(settings, `${'a'.repeat(64)}`)).toBeUndefined();
    expect(defaultHost(settings, '-x')).toBeUndefined();
    expect(defaultHost({ tcpPorts: [] }, 'shop')).toBeUndefined();
  });

  it.each(['*.example.com', 'a;b', '', 'a..b'])('rejects %j', (text) => {
    expect(() => parseDefaultDomain(text)).toThrow(/^ECS_INGRESS_DEFAULT_DOMAIN: /);
  });
});

describe('ECS_INGRESS_TCP_PORTS', () => {
  it('ports and inclusive ranges', () => {
    const tcpPorts = parseTcpPorts('5432, 6379,10000-10002');
    expect(tcpPorts).toEqual([
      { from: 5432, to: 5432 },
      { from: 6379, to: 6379 },
      { from: 10000, to: 10002 },
    ]);
    const settings = { tcpPorts };
    expect([5432, 6379, 10000, 10002, 10003, 5433, 80].map((p) => tcpPortAllowed(settings, p))).toEqual([
      true,
      true,
      true,
      true,
      false,
      false,
      false,
    ]);
    expect(parseTcpPorts('')).toEqual([]);
  });

  it.each(['0', '65536', '10-5', 'x', '1-', '080', '1;2'])('rejects %j', (text) => {
    expect(() => parseTcpPorts(text)).toThrow(/^ECS_INGRESS_TCP_PORTS: /);
  });
});
