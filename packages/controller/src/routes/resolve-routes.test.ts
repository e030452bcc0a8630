import { xorshift } from '@ecs-ingress/testkit';
import { ROUTE_ERROR_CODES as C, type RouteReport, type RouteTable } from '@ecs-ingress/types';
import { describe, expect, it } from 'vitest';
import { renderRouteTable, svc } from '../test-support/routes.js';
import { claimKeys, resolveRoutes, type ServiceRoutesInput } from './resolve-routes.js';
import { parseHostPolicy, type RouteSettings } from './route-settings.js';

const none: RouteSettings = { tcpPorts: [] };

function states(table: RouteTable): string[] {
  return table.reports.map(
    (r) => `${r.service}/${r.kind}.${r.route}: ${r.state}${r.code ? ` ${r.code}` : ''}`,
  );
}

function report(table: RouteTable, service: string, route = 'default'): RouteReport | undefined {
  return table.reports.find((r) => r.service === service && r.route === route);
}

function owners(table: RouteTable): string[] {
  return table.hosts.flatMap((h) =>
    h.locations.map(
      (l) =>
        `${h.host} ${l.match} ${l.path} -> ${l.upstream}${l.canary ? ` + ${l.canary.weight}% ${l.canary.upstream}` : ''}`,
    ),
  );
}

describe('claims', () => {
  it.each([
    ['exact', '/a', ['=/a']],
    ['prefix', '/a', ['=/a', '^/a/']],
    ['prefix', '/a/', ['^/a/']],
    ['prefix', '/', ['^/']],
    ['exact', '/', ['=/']],
  ] as const)('%s %s claims %j', (match, path, keys) => {
    expect(claimKeys(match, path)).toEqual(keys);
  });
});

describe('conflicts: the older service wins, ties by name, the loser is reported and not rendered', () => {
  it.each([
    {
      title: 'same host and path: older createdAt wins',
      services: [
        svc('young', 2, { 'http.hosts': 'a.example.com' }),
        svc('old', 1, { 'http.hosts': 'a.example.com' }),
      ],
      winner: 'old',
      loser: 'young',
    },
    {
      title: 'same createdAt: name order decides',
      services: [
        svc('b', 1, { 'http.hosts': 'a.example.com' }),
        svc('a', 1, { 'http.hosts': 'a.example.com' }),
      ],
      winner: 'a',
      loser: 'b',
    },
    {
      title: 'an unknown createdAt (not described yet) is the youngest, even with a name that sorts first',
      services: [
        svc('aaa-newcomer', undefined, { 'http.hosts': 'a.example.com' }),
        svc('zzz-incumbent', 5, { 'http.hosts': 'a.example.com' }),
      ],
      winner: 'zzz-incumbent',
      loser: 'aaa-newcomer',
    },
    {
      title: 'two unknown createdAt: name order decides',
      services: [
        svc('b', undefined, { 'http.hosts': 'a.example.com' }),
        svc('a', undefined, { 'http.hosts': 'a.example.com' }),
      ],
      winner: 'a',
      loser: 'b',
    },
    {
      title: 'prefix /x and prefix /x/ collide on /x/',
      services: [
        svc('old', 1, { 'http.hosts': 'a.example.com', 'http.path': '/x' }),
        svc('young', 2, { 'http.hosts': 'a.example.com', 'http.path': '/x/' }),
      ],
      winner: 'old',
      loser: 'young',
    },
    {
      title: 'prefix /x and exact /x collide on = /x',
      services: [
        svc('old', 1, { 'http.hosts': 'a.example.com', 'http.path': '/x', 'http.match': 'exact' }),
        svc('young', 2, { 'http.hosts': 'a.example.com', 'http.path': '/x' }),
      ],
      winner: 'old',
      loser: 'young',
    },
    {
      title: 'host case does not matter',
      services: [
        svc('old', 1, { 'http.hosts': 'A.Example.com' }),
        svc('young', 2, { 'http.hosts': 'a.example.com' }),
      ],
      winner: 'old',
      loser: 'young',
    },
    {
      title: 'another tls on the same host is a conflict, even on another path',
      services: [
        svc('old', 1, { 'http.hosts': 'a.example.com', 'http.tls': 'bundle:one' }),
        svc('young', 2, { 'http.hosts': 'a.example.com', 'http.path': '/y', 'http.tls': 'bundle:two' }),
      ],
      winner: 'old',
      loser: 'young',
    },
  ])('$title', ({ services, winner, loser }) => {
    const table = resolveRoutes(services, none);
    expect(report(table, winner)?.state).toBe('active');
    expect(report(table, loser)).toMatchObject({ state: 'conflict', code: C.conflict });
    expect(report(table, loser)?.reason).toContain(`${winner}/default (older)`);
    expect(table.hosts.flatMap((h) => h.locations.map((l) => l.service))).not.toContain(loser);
  });

  it('different paths on one host merge: exact first, then longest prefix', () => {
    const table = resolveRoutes(
      [
        svc('root', 1, { 'http.hosts': 'a.example.com' }),
        svc('api', 2, { 'http.hosts': 'a.example.com', 'http.path': '/api' }),
        svc('apiv2', 3, { 'http.hosts': 'a.example.com', 'http.path': '/api/v2' }),
        svc('health', 4, { 'http.hosts': 'a.example.com', 'http.path': '/health', 'http.match': 'exact' }),
        svc('apix', 5, { 'http.hosts': 'a.example.com', 'http.path': '/api', 'http.match': 'exact' }),
      ],
      none,
    );
    expect(owners(table)).toEqual([
      'a.example.com exact /health -> health',
      'a.example.com prefix /api/v2 -> apiv2',
      'a.example.com prefix /api -> api',
      'a.example.com prefix / -> root',
    ]);
    expect(report(table, 'apix')?.state).toBe('conflict');
  });

  it('a route that loses one host is not rendered on its other hosts either; its claims go to the next', () => {
    const table = resolveRoutes(
      [
        svc('a', 1, { 'http.hosts': 'x.example.com' }),
        svc('b', 2, { 'http.hosts': 'x.example.com y.example.com' }),
        svc('c', 3, { 'http.hosts': 'y.example.com' }),
      ],
      none,
    );
    expect(states(table)).toEqual([
      'a/http.default: active',
      `b/http.default: conflict ${C.conflict}`,
      'c/http.default: active',
    ]);
    expect(owners(table)).toEqual(['x.example.com prefix / -> a', 'y.example.com prefix / -> c']);
  });

  it('two tcp routes on one listen port: the older wins', () => {
    const settings: RouteSettings = { tcpPorts: [{ from: 5432, to: 5432 }] };
    const table = resolveRoutes(
      [
        svc('pg2', 2, { 'tcp.listen': '5432' }),
        svc('pg1', 1, { 'tcp.db.listen': '5432', 'tcp.db.port': '5433' }),
      ],
      settings,
    );
    expect(table.tcp).toEqual([{ listen: 5432, service: 'pg1', route: 'db', upstream: 'pg1.port-5433' }]);
    expect(report(table, 'pg2')).toMatchObject({ state: 'conflict', listen: 5432 });
  });
});

describe('canary', () => {
  const owner = svc('shop', 1, { 'http.hosts': 'shop.example.com' });

  it.each([
    {
      title: 'a second service takes its weight of the owner route',
      services: [
        owner,
        svc('shop-next', 2, { 'http.hosts': 'shop.example.com', 'http.canary-weight': '10' }),
      ],
      expected: ['shop.example.com prefix / -> shop + 10% shop-next'],
      state: 'active',
    },
    {
      title: 'an older canary still needs the owner; order of createdAt does not matter for canaries',
      services: [owner, svc('early', 0, { 'http.hosts': 'shop.example.com', 'http.canary-weight': '25' })],
      expected: ['shop.example.com prefix / -> shop + 25% early'],
      state: 'active',
    },
    {
      title: 'no owner at that host and path: invalid, nothing rendered',
      services: [
        owner,
        svc('lost', 2, { 'http.hosts': 'shop.example.com', 'http.path': '/x', 'http.canary-weight': '10' }),
      ],
      expected: ['shop.example.com prefix / -> shop'],
      state: 'invalid',
      code: C.canaryWithoutOwner,
    },
    {
      title: 'a canary of its own route is refused',
      services: [
        svc('shop', 1, {
          'http.hosts': 'shop.example.com',
          'http.c.hosts': 'shop.example.com',
          'http.c.port': '9000',
          'http.c.canary-weight': '10',
        }),
      ],
      expected: ['shop.example.com prefix / -> shop'],
      state: 'invalid',
      code: C.canaryWithoutOwner,
      service: 'shop',
      route: 'c',
    },
    {
      title: 'the owner strips its prefix: unsupported',
      services: [
        svc('shop', 1, { 'http.hosts': 'shop.example.com', 'http.path': '/a', 'http.strip-prefix': 'true' }),
        svc('next', 2, { 'http.hosts': 'shop.example.com', 'http.path': '/a', 'http.canary-weight': '10' }),
      ],
      expected: ['shop.example.com prefix /a -> shop'],
      state: 'invalid',
      code: C.canaryUnsupported,
      service: 'next',
    },
    {
      title: 'a second canary on the same location: the older canary keeps it',
      services: [
        owner,
        svc('c2', 3, { 'http.hosts': 'shop.example.com', 'http.canary-weight': '20' }),
        svc('c1', 2, { 'http.hosts': 'shop.example.com', 'http.canary-weight': '10' }),
      ],
      expected: ['shop.example.com prefix / -> shop + 10% c1'],
      state: 'conflict',
      code: C.conflict,
      service: 'c2',
    },
  ])(
    '$title',
    ({ services, expected, state, code, service = services.at(-1)?.name ?? '', route = 'default' }) => {
      const table = resolveRoutes(services, none);
      expect(owners(table)).toEqual(expected);
      const r = report(table, service, route);
      expect(r?.state).toBe(state);
      if (code !== undefined) expect(r?.code).toBe(code);
    },
  );
});

describe('operator settings', () => {
  it('host policy violations are invalid routes; allowed ones render', () => {
    const settings: RouteSettings = {
      tcpPorts: [],
      hostPolicy: parseHostPolicy('orders-*=*.orders.example.com'),
    };
    const table = resolveRoutes(
      [
        svc('orders-api', 1, { 'http.hosts': 'api.orders.example.com' }),
        svc('orders-web', 1, { 'http.hosts': 'web.orders.example.com shop.example.com' }),
        svc('shop', 1, { 'http.hosts': 'shop.example.com' }),
      ],
      settings,
    );
    expect(states(table)).toEqual([
      'orders-api/http.default: active',
      `orders-web/http.default: invalid ${C.hostNotAllowed}`,
      `shop/http.default: invalid ${C.hostNotAllowed}`,
    ]);
    expect(report(table, 'orders-web')?.reason).toContain('shop.example.com');
  });

  it('ECS_INGRESS_DEFAULT_DOMAIN gives hosts to routes without; without it they are invalid', () => {
    const services = [svc('Shop_1', 1, { 'http.path': '/x' })];
    expect(owners(resolveRoutes(services, { tcpPorts: [], defaultDomain: 'apps.example.com' }))).toEqual([
      'shop-1.apps.example.com prefix /x -> Shop_1',
    ]);
    expect(states(resolveRoutes(services, none))).toEqual([`Shop_1/http.default: invalid ${C.noHost}`]);
  });

  it.each([
    {
      title: 'tcp listen ports only from ECS_INGRESS_TCP_PORTS',
      services: [svc('db', 1, { 'tcp.a.listen': '5432', 'tcp.b.listen': '5433' })],
      settings: { tcpPorts: [{ from: 5432, to: 5432 }] },
      expected: ['db/tcp.a: active', `db/tcp.b: invalid ${C.tcpPortNotAllowed}`],
    },
    {
      title: 'label errors and unsafe upstream names are invalid routes of their service only',
      services: [
        svc('ok', 1, { 'http.hosts': 'ok.example.com', 'http.bad.hosts': 'x;' }),
        svc('bad name', 1, { 'http.hosts': 'b.example.com' }),
        svc('plain', 1, {}),
      ],
      settings: none,
      expected: [
        `bad name/http.default: invalid ${C.invalidUpstream}`,
        `ok/http.bad: invalid ${C.invalidHost}`,
        'ok/http.default: active',
      ],
    },
  ])('$title', ({ services, settings, expected }) => {
    expect(states(resolveRoutes(services, settings))).toEqual(expected);
  });

  it('a bundle server_name shadows the route on that host only', () => {
    const table = resolveRoutes(
      [
        svc('a', 1, { 'http.hosts': 'x.example.com y.example.com' }),
        svc('b', 1, { 'http.hosts': 'x.example.com' }),
      ],
      { tcpPorts: [], bundleServerNames: new Set(['x.example.com']) },
    );
    expect(report(table, 'a')).toMatchObject({ state: 'active', hosts: ['y.example.com'], code: C.shadowed });
    expect(report(table, 'b')).toMatchObject({ state: 'shadowed', code: C.shadowed });
    expect(owners(table)).toEqual(['y.example.com prefix / -> a']);
  });
});

describe('host objects are reused while their routes do not change', () => {
  it('same labels objects: same host objects; a changed service: a new object for its hosts only', () => {
    const a = svc('a', 1, { 'http.hosts': 'a.example.com' });
    const b = svc('b', 1, { 'http.hosts': 'b.example.com' });
    const first = resolveRoutes([a, b], none);
    const second = resolveRoutes([b, a], none);
    expect(second.hosts[0]).toBe(first.hosts[0]);
    expect(second.hosts[1]).toBe(first.hosts[1]);
    const b2 = svc('b', 1, { 'http.hosts': 'b.example.com', 'http.gzip': 'true' });
    const third = resolveRoutes([a, b2], none);
    expect(third.hosts[0]).toBe(first.hosts[0]);
    expect(third.hosts[1]).not.toBe(first.hosts[1]);
    expect(third.hosts[1]?.locations[0]?.spec.gzip).toBe(true);
    // Equal content from new label objects is equal, reused or not.
    expect(JSON.stringify(resolveRoutes([svc('a', 1, { 'http.hosts': 'a.example.com' })], none).hosts)).toBe(
      JSON.stringify([first.hosts[0]]),
    );
  });
});

describe('determinism', () => {
  function scenario(): ServiceRoutesInput[] {
    return [
      svc('shop', 10, { 'http.hosts': 'shop.example.com', 'http.tls': 'bundle:shop' }),
      svc('shop-v2', 20, {
        'http.hosts': 'shop.example.com',
        'http.canary-weight': '10',
        'http.tls': 'bundle:shop',
      }),
      svc('thief', 30, { 'http.hosts': 'shop.example.com', 'http.tls': 'bundle:shop' }),
      svc('api', 10, { 'http.hosts': 'shop.example.com', 'http.path': '/api', 'http.tls': 'bundle:shop' }),
      svc('api2', 10, { 'http.hosts': 'shop.example.com', 'http.path': '/api/', 'http.tls': 'bundle:shop' }),
      svc('db', 5, { 'tcp.listen': '5432', 'http.x.hosts': 'bad;' }),
      svc('db2', 5, { 'tcp.listen': '5432' }),
    ];
  }

  function permutations<T>(items: readonly T[]): T[][] {
    if (items.length <= 1) return [[...items]];
    return items.flatMap((item, i) =>
      permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]),
    );
  }

  const settings: RouteSettings = { tcpPorts: [{ from: 5432, to: 5432 }] };

  it('all 5,040 orders of 7 services give the same table and the same bytes', () => {
    const base = scenario();
    const expectedTable = JSON.stringify(resolveRoutes(base, settings));
    const expectedText = renderRouteTable(resolveRoutes(base, settings));
    expect(states(resolveRoutes(base, settings))).toEqual([
      'api/http.default: active',
      `api2/http.default: conflict ${C.conflict}`,
      'db/http.x: invalid ECS_INGRESS_ROUTE_INVALID_HOST',
      'db/tcp.default: active',
      `db2/tcp.default: conflict ${C.conflict}`,
      'shop/http.default: active',
      'shop-v2/http.default: active',
      `thief/http.default: conflict ${C.conflict}`,
    ]);
    let count = 0;
    for (const order of permutations(base)) {
      const table = resolveRoutes(order, settings);
      expect(JSON.stringify(table)).toBe(expectedTable);
      expect(renderRouteTable(table)).toBe(expectedText);
      count += 1;
    }
    expect(count).toBe(5040);
  });

  it('a restart (nothing cached: fresh label objects) renders the same bytes as a warm process', () => {
    const base = scenario();
    const first = resolveRoutes(base, settings);
    const warm = resolveRoutes(base, settings);
    // Warm: the same host objects come back, so the renderer reuses their text.
    expect(warm.hosts.every((host, i) => host === first.hosts[i])).toBe(true);
    const cold = resolveRoutes(structuredClone(base), settings);
    expect(cold.hosts.some((host, i) => host === first.hosts[i])).toBe(false);
    expect(renderRouteTable(warm)).toBe(renderRouteTable(first));
    expect(renderRouteTable(cold)).toBe(renderRouteTable(first));
  });

  it('shuffles of 200 random services agree (seeded)', () => {
    const random = xorshift(16);
    const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;
    const services = Array.from({ length: 200 }, (_, i) =>
      svc(`s${i}`, Math.floor(random() * 5), {
        'http.hosts': `${pick(['a', 'b', 'c', 'd'])}.example.com`,
        'http.path': pick(['/', '/x', '/x/', '/y', '/x/y']),
        'http.match': pick(['exact', 'prefix']),
        ...(random() < 0.2 ? { 'http.canary-weight': String(1 + Math.floor(random() * 99)) } : {}),
        ...(random() < 0.2 ? { 'http.tls': 'bundle:one' } : {}),
      }),
    );
    const expected = renderRouteTable(resolveRoutes(services, none));
    const expectedReports = JSON.stringify(resolveRoutes(services, none).reports);
    for (let round = 0; round < 50; round += 1) {
      const shuffled = [...services];
      for (let i = shuffled.length - 1; i > 0; i -= 1) {
        const j = Math.floor(random() * (i + 1));
        [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
      }
      const table = resolveRoutes(shuffled, none);
      expect(renderRouteTable(table)).toBe(expected);
      expect(JSON.stringify(table.reports)).toBe(expectedReports);
    }
  });
});
