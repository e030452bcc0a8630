import { expectGolden } from '@ecs-ingress/testkit';
import type { HttpRouteSpec, ResolvedHost, ResolvedLocation, RouteTable } from '@ecs-ingress/types';
import { describe, expect, it } from 'vitest';
import { RenderOptionError } from '../errors.js';
import {
  auditDirectives,
  block,
  directive,
  fixed,
  isSafeArgument,
  RouteRenderUnsafeError,
} from './conf-tree.js';
import { renderHttpRoutes, renderStreamRoutes, serverNamesBucketSize } from './render-routes.js';

const OPTIONS = { bundleDir: '/app/nginx/bundle' };

function spec(overrides: Partial<HttpRouteSpec> = {}): HttpRouteSpec {
  return {
    kind: 'http',
    name: 'default',
    hosts: [],
    path: '/',
    match: 'prefix',
    stripPrefix: false,
    tls: { kind: 'off' },
    httpsRedirect: false,
    ...overrides,
  } as HttpRouteSpec;
}

function loc(
  service: string,
  overrides: Partial<HttpRouteSpec> = {},
  extra: Partial<ResolvedLocation> = {},
): ResolvedLocation {
  const s = spec(overrides);
  return { match: s.match, path: s.path, service, route: s.name, upstream: service, spec: s, ...extra };
}

function table(hosts: ResolvedHost[], tcp: RouteTable['tcp'] = []): RouteTable {
  return { hosts, tcp, reports: [] };
}

/** `location` line → `proxy_pass` argument, in file order. */
function proxyPasses(text: string): string[] {
  const out: string[] = [];
  let current = '';
  for (const line of text.split('\n')) {
    const location = /^\s+location (.+) \{$/.exec(line);
    if (location) current = location[1] ?? '';
    const pass = /^\s+proxy_pass (.+);$/.exec(line);
    if (pass) out.push(`${current} -> ${pass[1]}`);
  }
  return out;
}

describe('renderHttpRoutes', () => {
  const full = table(
    [
      {
        host: 'api.example.com',
        tls: { kind: 'bundle', name: 'shop' },
        locations: [
          loc('orders', {
            name: 'api',
            path: '/orders',
            stripPrefix: true,
            tls: { kind: 'bundle', name: 'shop' },
            httpsRedirect: true,
            methods: ['GET', 'POST'],
            allow: ['192.0.2.0/24', '2001:db8::/32'],
            maxBody: { bytes: 26_214_400, text: '25m' },
            timeoutMs: 3_600_000,
            gzip: true,
          }),
          loc('legacy', {
            path: '/old',
            match: 'exact',
            rewritePrefix: '/v1/old',
            tls: { kind: 'bundle', name: 'shop' },
            timeoutMs: 1500,
            gzip: false,
          }),
        ],
      },
      {
        host: 'shop.example.com',
        tls: { kind: 'off' },
        locations: [
          loc(
            'shop',
            {},
            { canary: { service: 'shop-next', route: 'default', upstream: 'shop-next', weight: 10 } },
          ),
        ],
      },
    ],
    [
      { listen: 5432, service: 'db', route: 'pg', upstream: 'db.port-5432', allow: ['192.0.2.0/24'] },
      { listen: 6379, service: 'cache', route: 'default', upstream: 'cache' },
    ],
  );

  it('renders every option (golden)', () => {
    const http = renderHttpRoutes(full, OPTIONS);
    expectGolden('routes-http.conf', http.text);
    expect(http.serverCount).toBe(3);
    const stream = renderStreamRoutes(full);
    expectGolden('routes-stream.conf', stream.text);
    expect(stream.serverCount).toBe(2);
  });

  it('is byte-identical for equal tables, and the hash covers the body', () => {
    const a = renderHttpRoutes(full, OPTIONS);
    const b = renderHttpRoutes(structuredClone(full), OPTIONS);
    expect(b.text).toBe(a.text);
    expect(a.text.startsWith(`# ecs-ingress routes-http sha256:${a.hash}\n`)).toBe(true);
    expect(renderHttpRoutes(full, { ...OPTIONS, httpListen: ['8080'] }).hash).not.toBe(a.hash);
  });

  it('an empty table renders only the upgrade map, and no stream server', () => {
    expect(renderHttpRoutes(table([]), OPTIONS).text).toContain(
      'map $http_upgrade $ecs_ingress_connection_upgrade {',
    );
    expect(renderHttpRoutes(table([]), OPTIONS).serverCount).toBe(0);
    expect(renderStreamRoutes(table([])).text).toMatch(/^# ecs-ingress routes-stream sha256:[0-9a-f]{64}\n$/);
  });

  it.each([
    [{ path: '/' }, ['/ -> http://s']],
    [{ path: '/a' }, ['= /a -> http://s', '/a/ -> http://s']],
    [{ path: '/a/' }, ['/a/ -> http://s']],
    [{ path: '/a', match: 'exact' }, ['= /a -> http://s']],
    [{ path: '/a', stripPrefix: true }, ['= /a -> http://s/', '/a/ -> http://s/']],
    [{ path: '/a/', stripPrefix: true }, ['/a/ -> http://s/']],
    [{ path: '/', stripPrefix: true }, ['/ -> http://s/']],
    [{ path: '/a', match: 'exact', stripPrefix: true }, ['= /a -> http://s/']],
    [{ path: '/a', rewritePrefix: '/v2' }, ['= /a -> http://s/v2', '/a/ -> http://s/v2/']],
    [{ path: '/a', rewritePrefix: '/v2/' }, ['= /a -> http://s/v2/', '/a/ -> http://s/v2/']],
    [{ path: '/a/', rewritePrefix: '/v2' }, ['/a/ -> http://s/v2/']],
    [{ path: '/', rewritePrefix: '/v2' }, ['/ -> http://s/v2/']],
    [{ path: '/a', match: 'exact', rewritePrefix: '/b/c' }, ['= /a -> http://s/b/c']],
  ] as const)('segments, strip and rewrite: %j', (overrides, expected) => {
    const text = renderHttpRoutes(
      table([{ host: 'h.example.com', tls: { kind: 'off' }, locations: [loc('s', overrides)] }]),
      OPTIONS,
    ).text;
    expect(proxyPasses(text)).toEqual(expected);
  });

  it('locations: exact first, then the longest prefix', () => {
    const text = renderHttpRoutes(
      table([
        {
          host: 'h.example.com',
          tls: { kind: 'off' },
          locations: [
            loc('root'),
            loc('b', { path: '/b' }),
            loc('bc', { path: '/b/c/' }),
            loc('x', { path: '/x', match: 'exact' }),
          ],
        },
      ]),
      OPTIONS,
    ).text;
    expect([...text.matchAll(/location (.+) \{/g)].map((m) => m[1])).toEqual([
      '= /b',
      '= /x',
      '/b/c/',
      '/b/',
      '/',
    ]);
  });

  it.each([
    [{ httpListen: [] }, 'httpListen'],
    [{ httpListen: ['80;'] }, 'httpListen'],
    [{ httpsListen: ['0.0.0.0:443 ssl'] }, 'httpsListen'],
    [{ bundleDir: 'relative/dir' }, 'bundleDir'],
    [{ bundleDir: '/app/../etc' }, 'bundleDir'],
    [{ bundleDir: '/app/nginx bundle' }, 'bundleDir'],
  ])('refuses the option %j', (options, option) => {
    const render = () => renderHttpRoutes(table([]), { ...OPTIONS, ...options });
    expect(render).toThrow(RenderOptionError);
    expect(render).toThrow(new RegExp(`^${option}: `));
  });
});

/** Values that no grammar lets through, placed by hand in a table: the audit must refuse them all. */
const UNSAFE = [
  'a;b',
  'a b',
  'a}',
  '{',
  '$host',
  'a#b',
  'a"b',
  "a'b",
  'a\\b',
  'a`b',
  'a\nb',
  'a\u2028b',
  'a%b',
  'ü',
];

describe('the final audit', () => {
  const host = (h: string, l: ResolvedLocation): RouteTable =>
    table([{ host: h, tls: { kind: 'off' }, locations: [l] }]);
  const cases: [string, (bad: string) => () => unknown][] = [
    ['host', (bad) => () => renderHttpRoutes(host(bad, loc('s')), OPTIONS)],
    ['path', (bad) => () => renderHttpRoutes(host('h.example.com', loc('s', { path: `/${bad}` })), OPTIONS)],
    ['upstream', (bad) => () => renderHttpRoutes(host('h.example.com', loc(bad)), OPTIONS)],
    [
      'rewrite',
      (bad) => () => renderHttpRoutes(host('h.example.com', loc('s', { rewritePrefix: `/${bad}` })), OPTIONS),
    ],
    ['cidr', (bad) => () => renderHttpRoutes(host('h.example.com', loc('s', { allow: [bad] })), OPTIONS)],
    [
      'size',
      (bad) => () =>
        renderHttpRoutes(host('h.example.com', loc('s', { maxBody: { bytes: 1, text: bad } })), OPTIONS),
    ],
    [
      'tls name',
      (bad) => () =>
        renderHttpRoutes(
          table([{ host: 'h.example.com', tls: { kind: 'bundle', name: bad }, locations: [loc('s')] }]),
          OPTIONS,
        ),
    ],
    [
      'canary upstream',
      (bad) => () =>
        renderHttpRoutes(
          host(
            'h.example.com',
            loc('s', {}, { canary: { service: 'c', route: 'default', upstream: bad, weight: 5 } }),
          ),
          OPTIONS,
        ),
    ],
    [
      'stream upstream',
      (bad) => () => renderStreamRoutes(table([], [{ listen: 1, service: 's', route: 'r', upstream: bad }])),
    ],
    [
      'stream allow',
      (bad) => () =>
        renderStreamRoutes(table([], [{ listen: 1, service: 's', route: 'r', upstream: 's', allow: [bad] }])),
    ],
  ];

  it.each(cases)('refuses unsafe %s values with a coded error', (_title, make) => {
    for (const bad of UNSAFE) {
      let error: unknown;
      try {
        make(bad)();
      } catch (caught) {
        error = caught;
      }
      expect(error, JSON.stringify(bad)).toBeInstanceOf(RouteRenderUnsafeError);
      expect((error as RouteRenderUnsafeError).code).toBe('ECS_INGRESS_ROUTE_RENDER_UNSAFE');
    }
  });

  it('a canary on a location that rewrites is refused rather than mis-rendered', () => {
    const l = loc(
      's',
      { path: '/a', stripPrefix: true },
      { canary: { service: 'c', route: 'default', upstream: 'c', weight: 5 } },
    );
    expect(() => renderHttpRoutes(host('h.example.com', l), OPTIONS)).toThrow(RouteRenderUnsafeError);
  });

  it('fixed tokens pass only where the renderer writes them; directive names are checked too', () => {
    expect(isSafeArgument('$request_id')).toBe(false);
    expect(() => auditDirectives([directive('x', fixed('$request_id'))])).not.toThrow();
    expect(() => auditDirectives([directive('x', fixed('$request_uri'))])).toThrow(RouteRenderUnsafeError);
    expect(() =>
      auditDirectives([directive('x', fixed('http://$ecs_ingress_canary_0123456789ab_12'))]),
    ).not.toThrow();
    expect(() => auditDirectives([directive('x', fixed('http://$ecs_ingress_canary_a.b'))])).toThrow(
      RouteRenderUnsafeError,
    );
    expect(() => auditDirectives([block('split_clients', [], [directive('100%', 'x')])])).toThrow(
      RouteRenderUnsafeError,
    );
    expect(() => auditDirectives([directive('proxy_pass;', 'x')])).toThrow(RouteRenderUnsafeError);
    expect(() => auditDirectives([block('server', [], [directive('"" x', 'y')])])).toThrow(
      RouteRenderUnsafeError,
    );
    expect(() => auditDirectives([directive('return', '')])).toThrow(RouteRenderUnsafeError);
    expect(() =>
      auditDirectives([
        block(
          'map',
          [fixed('$http_upgrade'), fixed('$ecs_ingress_connection_upgrade')],
          [directive('""', 'close')],
        ),
      ]),
    ).not.toThrow();
    expect(() => auditDirectives([block('map', ['$http_upgrade'], [])])).toThrow(RouteRenderUnsafeError);
  });
});

describe('server_names_hash_bucket_size', () => {
  it.each([
    [0, 64],
    [46, 64],
    [47, 128],
    [110, 128],
    [111, 256],
    [238, 256],
    [239, 512],
    [253, 512],
  ])('a %i-character host needs %i', (length, size) => {
    expect(serverNamesBucketSize(length)).toBe(size);
  });

  it('is written only when a host needs more than 64', () => {
    const named = (host: string) =>
      renderHttpRoutes(table([{ host, tls: { kind: 'off' }, locations: [loc('s')] }]), OPTIONS).text;
    expect(named('a.example.com')).not.toContain('server_names_hash_bucket_size');
    expect(named(`${'a'.repeat(60)}.example.com`)).toContain('server_names_hash_bucket_size 128;');
  });
});

describe('defaultServer', () => {
  const tlsHost: ResolvedHost = {
    host: 'h.example.com',
    tls: { kind: 'bundle', name: 'x' },
    locations: [loc('s')],
  };

  it('writes a 404 default server, and one that refuses TLS handshakes when a host has TLS', () => {
    const text = renderHttpRoutes(table([tlsHost]), { ...OPTIONS, defaultServer: true }).text;
    expect(text).toContain('server {\n  listen 80 default_server;\n  return 404;\n}\n');
    expect(text).toContain('server {\n  listen 443 ssl default_server;\n  ssl_reject_handshake on;\n}\n');
    const plain = renderHttpRoutes(table([{ ...tlsHost, tls: { kind: 'off' } }]), {
      ...OPTIONS,
      defaultServer: true,
    });
    expect(plain.text).not.toContain('ssl_reject_handshake');
    expect(renderHttpRoutes(table([tlsHost]), OPTIONS).text).not.toContain('default_server');
  });
});

describe('per-host text cache', () => {
  it('reuses a host text only for the same host object and the same listen options', () => {
    const host: ResolvedHost = { host: 'h.example.com', tls: { kind: 'off' }, locations: [loc('s')] };
    const first = renderHttpRoutes(table([host]), OPTIONS).text;
    expect(renderHttpRoutes(table([host]), { ...OPTIONS }).text).toBe(first);
    expect(renderHttpRoutes(table([host]), { ...OPTIONS, httpListen: ['8080'] }).text).toContain(
      'listen 8080;',
    );
    expect(renderHttpRoutes(table([host]), { ...OPTIONS, bundleDir: '/other' }).text).toBe(first);
    const changed = renderHttpRoutes(table([{ ...host, locations: [loc('t')] }]), OPTIONS).text;
    expect(changed).toContain('proxy_pass http://t;');
    expect(renderHttpRoutes(table([host]), OPTIONS).text).toBe(first);
  });
});
