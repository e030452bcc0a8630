import { INJECTION_PAYLOADS } from '@ecs-ingress/testkit';
import { describe, expect, it } from 'vitest';
import { ROUTE_ERROR_CODES as C, quoteForMessage } from './errors.js';
import { parseRouteLabels } from './label-grammar.js';

const P = 'ecs-ingress.';

describe('parseRouteLabels: keys', () => {
  it('a service without http/tcp keys is not exposed; port and container are not route keys', () => {
    const parsed = parseRouteLabels({
      'ecs-ingress.port': '8080',
      'ecs-ingress.container': 'web',
      other: 'x',
    });
    expect(parsed).toEqual({ exposed: false, http: [], tcp: [], invalid: [], ignored: [] });
  });

  it('a key without a route name is route "default", with the defaults filled in', () => {
    const parsed = parseRouteLabels({ [`${P}http.hosts`]: 'shop.example.com' });
    expect(parsed.exposed).toBe(true);
    expect(parsed.http).toEqual([
      {
        kind: 'http',
        name: 'default',
        hosts: ['shop.example.com'],
        path: '/',
        match: 'prefix',
        stripPrefix: false,
        tls: { kind: 'off' },
        httpsRedirect: false,
      },
    ]);
  });

  it('the complete example of the issue parses into typed values', () => {
    const parsed = parseRouteLabels({
      [`${P}http.hosts`]: 'shop.example.com www.shop.example.com',
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
    });
    expect(parsed.invalid).toEqual([]);
    expect(parsed.http.map((r) => r.name)).toEqual(['api', 'default']);
    expect(parsed.http[0]).toEqual({
      kind: 'http',
      name: 'api',
      hosts: ['api.example.com'],
      path: '/orders',
      match: 'prefix',
      stripPrefix: true,
      port: 9000,
      tls: { kind: 'bundle', name: 'shop' },
      httpsRedirect: true,
      methods: ['GET', 'POST'],
      allow: ['192.0.2.0/24', '2001:db8::/32'],
      maxBody: { bytes: 26_214_400, text: '25m' },
      timeoutMs: 3_600_000,
      gzip: true,
    });
    expect(parsed.tcp).toEqual([
      { kind: 'tcp', name: 'pg', listen: 5432, port: 5432, allow: ['192.0.2.0/24'] },
    ]);
  });

  it.each([
    ['match', 'exact', { match: 'exact' }],
    ['rewrite-prefix', '/v2', { rewritePrefix: '/v2' }],
    ['https-redirect', 'false', { httpsRedirect: false }],
    ['gzip', 'false', { gzip: false }],
    ['canary-weight', '10', { canaryWeight: 10 }],
  ])('http key %s=%s', (key, text, expected) => {
    const parsed = parseRouteLabels({ [`${P}http.r.hosts`]: 'a.example.com', [`${P}http.r.${key}`]: text });
    expect(parsed.http[0]).toMatchObject(expected);
  });

  it('https-redirect defaults to true with tls, and cannot be true without it', () => {
    const withTls = parseRouteLabels({ [`${P}http.tls`]: 'bundle:x', [`${P}http.https-redirect`]: 'false' });
    expect(withTls.http[0]?.httpsRedirect).toBe(false);
    const without = parseRouteLabels({ [`${P}http.https-redirect`]: 'true' });
    expect(without.invalid[0]?.errors[0]).toMatchObject({
      code: C.invalidCombination,
      label: `${P}http.https-redirect`,
    });
  });

  it('strip-prefix and rewrite-prefix together are refused; a tcp route needs listen', () => {
    const both = parseRouteLabels({ [`${P}http.strip-prefix`]: 'true', [`${P}http.rewrite-prefix`]: '/v2' });
    expect(both.invalid[0]?.errors[0]?.code).toBe(C.invalidCombination);
    const noListen = parseRouteLabels({ [`${P}tcp.pg.port`]: '5432' });
    expect(noListen.invalid[0]).toMatchObject({ kind: 'tcp', name: 'pg' });
    expect(noListen.invalid[0]?.errors[0]).toMatchObject({
      code: C.invalidCombination,
      label: `${P}tcp.pg.listen`,
    });
  });

  it.each([
    [`${P}http.api.hots`, C.unknownKey],
    [`${P}http.api.x.hosts`, C.unknownKey],
    [`${P}http.api.`, C.unknownKey],
    [`${P}http.api.constructor`, C.unknownKey],
    [`${P}http.api.__proto__`, C.unknownKey],
    [`${P}tcp.api.hosts`, C.unknownKey],
    [`${P}tcp.api.path`, C.unknownKey],
    [`${P}http.api.snippet`, C.unknownKey],
    [`${P}http.api.configuration-snippet`, C.unknownKey],
    [`${P}http.API.hosts`, C.invalidName],
    [`${P}http.-api.hosts`, C.invalidName],
    [`${P}http.${'a'.repeat(32)}.hosts`, C.invalidName],
    [`${P}http..hosts`, C.invalidName],
    [`${P}http.a_b.hosts`, C.invalidName],
  ])('%s is an error of its route (%s)', (label, code) => {
    const parsed = parseRouteLabels({ [label]: 'a.example.com', [`${P}http.ok.hosts`]: 'ok.example.com' });
    expect(parsed.invalid).toHaveLength(1);
    expect(parsed.invalid[0]?.errors[0]).toMatchObject({ code, label });
    expect(parsed.invalid[0]?.errors[0]?.message).toContain(quoteForMessage(label));
    // The valid route of the same service is unaffected.
    expect(parsed.http.map((r) => r.name)).toEqual(['ok']);
  });

  it('a route name of 31 characters is fine; other keys under the prefix are listed as ignored', () => {
    const name = `a${'b'.repeat(30)}`;
    const parsed = parseRouteLabels({
      [`${P}http.${name}.hosts`]: 'a.example.com',
      [`${P}https.hosts`]: 'x',
      [`${P}foo`]: 'y',
    });
    expect(parsed.http[0]?.name).toBe(name);
    expect(parsed.ignored).toEqual([`${P}foo`, `${P}https.hosts`]);
  });

  it('an invalid value rejects only its route, with every problem listed', () => {
    const parsed = parseRouteLabels({
      [`${P}http.bad.hosts`]: 'a;b',
      [`${P}http.bad.port`]: '70000',
      [`${P}http.bad.path`]: '/ok',
      [`${P}http.good.hosts`]: 'good.example.com',
      [`${P}tcp.pg.listen`]: '5432',
    });
    expect(parsed.http.map((r) => r.name)).toEqual(['good']);
    expect(parsed.tcp.map((r) => r.name)).toEqual(['pg']);
    expect(parsed.invalid).toHaveLength(1);
    expect(parsed.invalid[0]?.errors.map((e) => [e.code, e.label])).toEqual([
      [C.invalidHost, `${P}http.bad.hosts`],
      [C.invalidPort, `${P}http.bad.port`],
    ]);
  });

  it('the result does not depend on the order of the labels', () => {
    const entries: [string, string][] = [
      [`${P}http.b.hosts`, 'b.example.com'],
      [`${P}http.a.hosts`, 'a.example.com'],
      [`${P}http.a.path`, '/x'],
      [`${P}http.c.port`, 'nope'],
      [`${P}tcp.t.listen`, '1'],
    ];
    const forward = parseRouteLabels(Object.fromEntries(entries));
    const backward = parseRouteLabels(Object.fromEntries([...entries].reverse()));
    expect(JSON.stringify(backward)).toBe(JSON.stringify(forward));
  });
});

/** Every value key of both kinds, with a valid value that the payload is appended to or replaces. */
const VALUE_KEYS: readonly (readonly [string, string])[] = [
  ['http.r.hosts', 'a.example.com'],
  ['http.r.path', '/a'],
  ['http.r.match', 'prefix'],
  ['http.r.strip-prefix', 'true'],
  ['http.r.rewrite-prefix', '/v2'],
  ['http.r.port', '8080'],
  ['http.r.tls', 'bundle:shop'],
  ['http.r.https-redirect', 'false'],
  ['http.r.methods', 'GET'],
  ['http.r.allow', '192.0.2.0/24'],
  ['http.r.max-body', '1m'],
  ['http.r.timeout', '30s'],
  ['http.r.gzip', 'true'],
  ['http.r.canary-weight', '10'],
  ['tcp.t.listen', '5432'],
  ['tcp.t.port', '5432'],
  ['tcp.t.allow', '192.0.2.0/24'],
];

describe('injection: every payload in every value is rejected', () => {
  const cases = VALUE_KEYS.flatMap(([key, valid]) =>
    INJECTION_PAYLOADS.flatMap(([name, payload]) => [
      { key, name, value: payload },
      { key, name, value: `${valid}${payload}` },
    ]),
  );
  it(`${cases.length} values`, () => {
    for (const { key, name, value } of cases) {
      const kind = key.startsWith('tcp') ? 'tcp' : 'http';
      const labels: Record<string, string> = { [`${P}${key}`]: value };
      if (kind === 'tcp' && key !== 'tcp.t.listen') labels[`${P}tcp.t.listen`] = '5432';
      const parsed = parseRouteLabels(labels);
      expect(parsed.http.length + parsed.tcp.length, `${key} with ${name}: ${JSON.stringify(value)}`).toBe(0);
      expect(parsed.invalid[0]?.errors[0]?.label).toBe(`${P}${key}`);
    }
  });

  it('payloads in the route name are rejected too, and messages never carry them raw', () => {
    for (const [name, payload] of INJECTION_PAYLOADS) {
      const label = `${P}http.${payload}.hosts`;
      const parsed = parseRouteLabels({ [label]: 'a.example.com' });
      expect(parsed.http, name).toEqual([]);
      const message = parsed.invalid[0]?.errors[0]?.message ?? '';
      expect(message, name).toMatch(/^[\x20-\x7e…]+$/);
    }
  });
});
