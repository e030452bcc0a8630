/**
 * Label sets → resolution → rendering → the real `nginx -t`. 1,000 seeded random label sets (most
 * values valid, some invalid, keys sometimes unknown, hosts drawn from a small pool so conflicts
 * and canaries happen) are batched 100 services per NGINX run: every route is either rejected with
 * a coded reason or rendered, and every rendered batch passes `nginx -t`.
 */

import { xorshift } from '@ecs-ingress/testkit';
import { routeNginx, routeNginxAvailable } from '@ecs-ingress/testkit/nginx';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveRoutes, type ServiceRoutesInput } from './resolve-routes.js';
import { parseHostPolicy, type RouteSettings } from './route-settings.js';

if (!routeNginxAvailable)
  console.warn('SKIPPED: nginx or openssl is absent, the route nginx -t tests do not run');

const nginx = routeNginxAvailable ? routeNginx() : undefined;
afterAll(() => nginx?.dispose());

const P = 'ecs-ingress.';
const SEGMENT_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._~-';
const LABEL_CHARS = 'abcdefghijklmnopqrstuvwxyz0123456789-';
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];
const TLS_NAMES = ['shop', 'api', 'wild_card', 'a-1'];

function generator(seed: number) {
  const random = xorshift(seed);
  const below = (n: number) => Math.floor(random() * n);
  const chance = (p: number) => random() < p;
  const pick = <T>(list: readonly T[]): T => list[below(list.length)] as T;
  const chars = (alphabet: string, n: number) =>
    Array.from({ length: n }, () => alphabet[below(alphabet.length)]).join('');

  const dnsLabel = () => {
    const n = chance(0.05) ? 63 : 1 + below(12);
    // Valid labels, but now and then one with a hyphen at an end (invalid on purpose).
    const label = chars(LABEL_CHARS, n);
    return chance(0.05) ? label : label.replace(/^-+|-+$/g, '') || 'x';
  };
  const pooled = Array.from({ length: 12 }, (_, i) => `h${i}.example.com`);
  const host = () => {
    if (chance(0.6)) return pick(pooled);
    const labels = Array.from({ length: 1 + below(4) }, dnsLabel);
    const name = `${labels.join('.')}.example`;
    return chance(0.15) ? `*.${name}` : chance(0.1) ? name.toUpperCase() : name;
  };
  const path = () => {
    if (chance(0.3)) return pick(['/', '/api', '/api/', '/static', '/x/y']);
    const segments = Array.from({ length: 1 + below(4) }, () => chars(SEGMENT_CHARS, 1 + below(10)));
    return `/${segments.join('/')}${chance(0.3) ? '/' : ''}`;
  };
  const ipv4Cidr = () => {
    const bits = pick([8, 16, 24, 32]);
    const octets = [192, 0, 2, below(256)].map((o, i) => (i * 8 >= bits ? 0 : o));
    return chance(0.02) ? `198.51.100.${1 + below(254)}/24` : `${octets.join('.')}/${bits}`;
  };
  const ipv6Cidr = () =>
    pick(['2001:db8::/32', '2001:DB8:0:1::/64', '::1', 'fe80::/10', '2001:db8:0:0:1::/80']);
  const cidrs = () =>
    Array.from({ length: 1 + below(4) }, () => (chance(0.7) ? ipv4Cidr() : ipv6Cidr())).join(' ');
  // The full injection suite is in packages/types (label-grammar.test.ts); a sample here.
  const invalid = () =>
    pick([
      '',
      ' ',
      '-1',
      '0',
      '99999',
      'x',
      'a;',
      '$host',
      'a}',
      '/x { alias /etc/; }',
      'http://x/#;\nssl_engine /tmp/x.so;',
      'a\u2028b',
    ]);

  const httpValues: Record<string, () => string> = {
    hosts: () => Array.from({ length: 1 + below(chance(0.05) ? 21 : 3) }, host).join(' '),
    path,
    match: () => pick(['exact', 'prefix']),
    'strip-prefix': () => pick(['true', 'false']),
    'rewrite-prefix': path,
    port: () => String(pick([8080, 9000, 1 + below(65_535)])),
    tls: () => (chance(0.5) ? 'off' : `bundle:${pick(TLS_NAMES)}`),
    'https-redirect': () => (chance(0.1) ? 'true' : 'false'),
    methods: () => Array.from({ length: 1 + below(3) }, () => pick(METHODS)).join(' '),
    allow: cidrs,
    'max-body': () => `${below(2000)}${pick(['', 'k', 'm', 'M', 'g'])}`,
    timeout: () => `${1 + below(100)}${pick(['ms', 's', 'm', 'h'])}`,
    gzip: () => pick(['true', 'false']),
    'canary-weight': () => String(1 + below(chance(0.1) ? 200 : 99)),
  };
  const tcpValues: Record<string, () => string> = {
    listen: () => String(9990 + below(120)),
    port: () => String(1 + below(65_535)),
    allow: cidrs,
  };

  function labelSet(): Record<string, string> {
    const labels: Record<string, string> = {};
    if (chance(0.3)) labels[`${P}port`] = '8080';
    const routes = 1 + below(3);
    for (let r = 0; r < routes; r += 1) {
      const tcp = chance(0.2);
      const name = chance(0.4)
        ? ''
        : `${chance(0.05) ? pick(['Bad', 'a_b', '-x']) : pick(['api', 'web', 'r1', 'x-2'])}.`;
      const values = tcp ? tcpValues : httpValues;
      const kind = tcp ? 'tcp' : 'http';
      if (!tcp && chance(0.1)) {
        // A canary: a pooled host at `/`, where an owner is likely.
        labels[`${P}http.${name}hosts`] = pick(pooled);
        labels[`${P}http.${name}canary-weight`] = (httpValues['canary-weight'] as () => string)();
        continue;
      }
      for (const key of Object.keys(values)) {
        const required = key === 'listen' || key === 'hosts';
        if (key === 'canary-weight' || (!required && !chance(0.3))) continue;
        const value = chance(0.04) ? invalid() : (values[key] as () => string)();
        labels[`${P}${kind}.${name}${key}`] = value;
      }
      if (chance(0.03)) labels[`${P}${kind}.${name}${pick(['snippet', 'headers', 'hots', 'x.y'])}`] = 'x';
    }
    return labels;
  }
  return { labelSet, below };
}

describe.skipIf(!routeNginxAvailable)('random label sets against nginx -t', () => {
  it('1,000 label sets: each route rejected with a code or rendered; every batch passes nginx -t', () => {
    const { labelSet, below } = generator(0x16_16);
    const settings: RouteSettings = {
      tcpPorts: [{ from: 10_000, to: 10_100 }],
      defaultDomain: 'apps.example.com',
      // As if the user's bundle had `server_name h11.example.com`: routes there are shadowed.
      bundleServerNames: new Set(['h11.example.com']),
    };
    const codes = new Map<string, number>();
    const totals = { active: 0, conflict: 0, invalid: 0, shadowed: 0, canary: 0, tls: 0, tcp: 0 };
    for (let batch = 0; batch < 10; batch += 1) {
      const services: ServiceRoutesInput[] = Array.from({ length: 100 }, (_, i) => ({
        name: `svc-${batch}-${i}`,
        createdAt: below(20),
        labels: labelSet(),
      }));
      const table = resolveRoutes(services, settings);
      for (const report of table.reports) {
        totals[report.state] += 1;
        if (report.state !== 'active')
          expect(report.code, JSON.stringify(report)).toMatch(/^ECS_INGRESS_ROUTE_[A-Z_]+$/);
        if (report.reason.startsWith('canary')) totals.canary += 1;
        if (report.code) codes.set(report.code, (codes.get(report.code) ?? 0) + 1);
      }
      totals.tls += table.hosts.filter((h) => h.tls.kind === 'bundle').length;
      totals.tcp += table.tcp.length;
      const result = nginx!.test(table, { defaultServer: batch % 2 === 0 });
      expect(result.output, `batch ${batch}:\n${result.output}`).toContain('test is successful');
      expect(result.ok).toBe(true);
      // Every active route is really in the file, on each of its hosts.
      for (const report of table.reports.filter((r) => r.state === 'active' && r.kind === 'http')) {
        for (const host of report.hosts ?? []) expect(result.http).toContain(`server_name ${host};`);
      }
    }
    console.log(`route fuzz totals: ${JSON.stringify(totals)} ${JSON.stringify([...codes].sort())}`);
    // The cases really cover both outcomes and every feature, so the test cannot pass vacuously.
    expect(totals.active).toBeGreaterThan(500);
    expect(totals.invalid).toBeGreaterThan(100);
    expect(totals.conflict).toBeGreaterThan(20);
    expect(totals.canary).toBeGreaterThan(5);
    expect(totals.tls).toBeGreaterThan(20);
    expect(totals.tcp).toBeGreaterThan(20);
    expect(totals.shadowed).toBeGreaterThan(5);
  });
});

describe.skipIf(!routeNginxAvailable)('the complete example against nginx -t', () => {
  const services: ServiceRoutesInput[] = [
    {
      name: 'shop',
      createdAt: 1,
      labels: {
        [`${P}http.hosts`]: 'shop.example.com www.shop.example.com',
        [`${P}http.tls`]: 'bundle:shop',
        [`${P}http.api.hosts`]: 'api.example.com',
        [`${P}http.api.path`]: '/orders',
        [`${P}http.api.strip-prefix`]: 'true',
        [`${P}http.api.port`]: '9000',
        [`${P}http.api.tls`]: 'bundle:shop',
        [`${P}http.api.methods`]: 'GET POST',
        [`${P}http.api.allow`]: '192.0.2.0/24 2001:db8::/32',
        [`${P}http.api.max-body`]: '25m',
        [`${P}http.api.timeout`]: '1h',
        [`${P}http.api.gzip`]: 'true',
        [`${P}tcp.pg.listen`]: '5432',
        [`${P}tcp.pg.port`]: '5432',
        [`${P}tcp.pg.allow`]: '192.0.2.0/24',
      },
    },
    {
      name: 'shop-next',
      createdAt: 2,
      labels: {
        [`${P}http.hosts`]: 'shop.example.com',
        [`${P}http.tls`]: 'bundle:shop',
        [`${P}http.canary-weight`]: '10',
      },
    },
    { name: 'orders-api', createdAt: 3, labels: { [`${P}http.path`]: '/v1' } },
  ];
  const settings: RouteSettings = {
    tcpPorts: [{ from: 5432, to: 5432 }],
    defaultDomain: 'apps.example.com',
    hostPolicy: parseHostPolicy('orders-*=*.apps.example.com;*=*'),
  };

  it('passes, with every feature in the file', () => {
    const table = resolveRoutes(services, settings);
    expect(table.reports.every((r) => r.state === 'active')).toBe(true);
    const result = nginx!.test(table);
    expect(result.output).toContain('test is successful');
    for (const needle of [
      'server_name orders-api.apps.example.com;',
      'split_clients $request_id $ecs_ingress_canary_951623a26f8b_0 {',
      'listen 127.0.0.1:18443 ssl;',
      'limit_except GET POST {',
      'proxy_pass http://shop.port-9000/;',
      'allow 2001:db8::/32;',
      'return 308 https://$host$request_uri;',
    ]) {
      expect(result.http).toContain(needle);
    }
    expect(result.stream).toContain('proxy_pass shop.port-5432;');
  });

  it('the longest hosts (253 characters, wildcard too) with TLS and a canary pass', () => {
    const label = 'a'.repeat(63);
    const long = `${label}.${label}.${label}.${'b'.repeat(57)}.com`;
    const wild = `*.${label}.${label}.${label}.${'c'.repeat(55)}.com`;
    expect([long.length, wild.length]).toEqual([253, 253]);
    const table = resolveRoutes(
      [
        {
          name: 'a',
          createdAt: 1,
          labels: { [`${P}http.hosts`]: `${long} ${wild}`, [`${P}http.tls`]: 'bundle:x' },
        },
        {
          name: 'b',
          createdAt: 2,
          labels: { [`${P}http.hosts`]: `${long} ${wild}`, [`${P}http.canary-weight`]: '50' },
        },
        { name: 'c', createdAt: 3, labels: { [`${P}http.hosts`]: 'short.example.com' } },
      ],
      { tcpPorts: [] },
    );
    expect(table.reports.map((r) => r.state)).toEqual(['active', 'active', 'active']);
    const result = nginx!.test(table, { defaultServer: true });
    expect(result.output).toContain('test is successful');
    expect(result.http).toContain('server_names_hash_bucket_size 512;');
  });

  it('the check can fail: a missing certificate, or two equal locations resolution would have refused', () => {
    const table = resolveRoutes(services, settings);
    const noCertificate = nginx!.test(
      {
        ...table,
        hosts: table.hosts.map((h) =>
          h.tls.kind === 'bundle' ? { ...h, tls: { kind: 'bundle', name: 'absent' } } : h,
        ),
      },
      { skipCertificates: true },
    );
    expect(noCertificate.ok).toBe(false);
    expect(noCertificate.output).toMatch(/absent\.crt/);
    const host = table.hosts.find((h) => h.host === 'www.shop.example.com')!;
    const twice = nginx!.test({
      ...table,
      hosts: [{ ...host, locations: [...host.locations, ...host.locations] }],
    });
    expect(twice.ok).toBe(false);
    expect(twice.output).toContain('duplicate location');
  });
});
