import { describe, expect, it } from 'vitest';
import { ROUTE_ERROR_CODES as C } from './errors.js';
import {
  parseBoolean,
  parseCidrs,
  parseDuration,
  parseHost,
  parseHosts,
  parseMatch,
  parseMethods,
  parsePath,
  parsePort,
  parseSize,
  parseTls,
  parseWeight,
  type ValueResult,
} from './values.js';

function value<T>(result: ValueResult<T>): T {
  if (!result.ok) throw new Error(`expected ok, got ${result.code}: ${result.reason}`);
  return result.value;
}

const label63 = 'a'.repeat(63);
const host253 = `${label63}.${label63}.${label63}.${'b'.repeat(61)}`;

describe('hosts', () => {
  it.each([
    ['shop.example.com', 'shop.example.com'],
    ['Shop.EXAMPLE.com', 'shop.example.com'],
    ['*.apps.example.com', '*.apps.example.com'],
    ['localhost', 'localhost'],
    ['a-b.c0.example', 'a-b.c0.example'],
    ['123.example.com', '123.example.com'],
    [host253, host253],
  ])('accepts %s', (text, expected) => {
    expect(value(parseHost(text))).toBe(expected);
  });

  it.each([
    ['', 'empty'],
    [`${host253}a`, '254 characters'],
    [`${'a'.repeat(64)}.example.com`, 'a 64-character label'],
    ['-shop.example.com', 'a label starting with a hyphen'],
    ['shop-.example.com', 'a label ending with a hyphen'],
    ['shop..example.com', 'an empty label'],
    ['shop.example.com.', 'a trailing dot'],
    ['*example.com', 'a wildcard not followed by a dot'],
    ['a.*.example.com', 'a wildcard inside'],
    ['*.*.example.com', 'two wildcards'],
    ['*', 'a bare wildcard'],
    ['shop_1.example.com', 'an underscore'],
    ['shop.example.com:80', 'a port'],
    ['xn--bcher-kva.example', 'ok punycode'],
    ['bücher.example', 'a non-ASCII letter'],
    ['~^(www)\\.example\\.com$', 'an NGINX regex server name'],
  ])('%s (%s)', (text, why) => {
    const result = parseHost(text);
    if (why === 'ok punycode') expect(result.ok).toBe(true);
    else expect(result).toMatchObject({ ok: false, code: C.invalidHost });
  });

  it('lists: spaces separate, duplicates collapse, sorted, at most 20', () => {
    expect(value(parseHosts('  www.shop.example.com shop.example.com  SHOP.example.com'))).toEqual([
      'shop.example.com',
      'www.shop.example.com',
    ]);
    const twenty = Array.from({ length: 20 }, (_, i) => `h${i}.example.com`).join(' ');
    expect(value(parseHosts(twenty))).toHaveLength(20);
    expect(parseHosts(`${twenty} h20.example.com`)).toMatchObject({ ok: false, code: C.invalidHost });
    expect(parseHosts('   ')).toMatchObject({ ok: false, code: C.invalidHost });
    expect(parseHosts('a.example.com\tb.example.com')).toMatchObject({ ok: false });
    expect(parseHosts('a.example.com,b.example.com')).toMatchObject({ ok: false });
  });
});

describe('paths', () => {
  it.each(['/', '/orders', '/orders/', '/a/b/c', '/v1.2/x_y~z-w', `/${'a'.repeat(255)}`])(
    'accepts %s',
    (path) => {
      expect(value(parsePath(path))).toBe(path);
    },
  );

  it.each([
    ['', 'empty'],
    ['orders', 'relative'],
    ['//orders', 'an empty segment'],
    ['/a//b', 'an empty segment inside'],
    ['/a/../b', 'a dot-dot segment'],
    ['/a..b', 'two dots inside a segment'],
    ['/./a', 'a dot segment'],
    ['/a/.', 'a trailing dot segment'],
    ['/a%2e', 'a percent escape'],
    ['/a b', 'a space'],
    ['/a?b=1', 'a query'],
    ['/a#b', 'a fragment'],
    ['/a;b', 'a semicolon'],
    ['/a{b}', 'braces'],
    ['/a$b', 'a dollar'],
    ['/a\\b', 'a backslash'],
    ['/(a|b)', 'a regex'],
    ['/ä', 'a non-ASCII letter'],
    [`/${'a'.repeat(256)}`, '257 characters'],
  ])('rejects %j (%s)', (path) => {
    expect(parsePath(path)).toMatchObject({ ok: false, code: C.invalidPath });
  });
});

describe('enums and scalars', () => {
  it.each([
    [parseMatch, 'exact', 'exact'],
    [parseMatch, 'prefix', 'prefix'],
    [parseBoolean, 'true', true],
    [parseBoolean, 'false', false],
    [parsePort, '1', 1],
    [parsePort, '65535', 65535],
    [parseWeight, '1', 1],
    [parseWeight, '99', 99],
    [parseDuration, '1ms', 1],
    [parseDuration, '30s', 30_000],
    [parseDuration, '5m', 300_000],
    [parseDuration, '24h', 86_400_000],
    [parseDuration, '1440m', 86_400_000],
    [parseTls, 'off', { kind: 'off' }],
    [parseTls, 'bundle:shop', { kind: 'bundle', name: 'shop' }],
    [parseTls, 'bundle:shop_2-x', { kind: 'bundle', name: 'shop_2-x' }],
    [parseSize, '0', { bytes: 0, text: '0' }],
    [parseSize, '512', { bytes: 512, text: '512' }],
    [parseSize, '512k', { bytes: 524_288, text: '512k' }],
    [parseSize, '25M', { bytes: 26_214_400, text: '25m' }],
    [parseSize, '10g', { bytes: 10 * 1024 ** 3, text: '10g' }],
    [parseMethods, 'POST GET', ['GET', 'POST']],
    [parseMethods, 'DELETE GET GET', ['GET', 'DELETE']],
    [
      parseMethods,
      'GET HEAD POST PUT PATCH DELETE OPTIONS',
      ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'],
    ],
  ] as const)('%o(%s)', (parse, text, expected) => {
    expect(value((parse as (t: string) => ValueResult<unknown>)(text))).toEqual(expected);
  });

  it.each([
    [parseMatch, ['Exact', 'regex', '', 'exact ']],
    [parseBoolean, ['True', 'yes', '1', 'on', '', 'true ']],
    [parsePort, ['0', '65536', '080', '-1', '1.5', '', '8080 ', '0x50']],
    [parseWeight, ['0', '100', '05', '10.5', '-1', '', '10%']],
    [parseDuration, ['0s', '25h', '86401s', '1', '1.5s', '1d', '1h30m', 's', '', '01s']],
    [
      parseTls,
      [
        'on',
        'bundle:',
        'bundle:Shop',
        'bundle:../x',
        'bundle:a/b',
        'bundle:-a',
        'acme',
        `bundle:${'a'.repeat(64)}`,
      ],
    ],
    [parseSize, ['11g', '1t', '1.5m', '-1', '', 'm', '01m', '1 m', '1mb']],
    [parseMethods, ['get', 'CONNECT', 'TRACE', '', 'GET,POST', 'GET\nPOST']],
  ] as const)('%o rejects every bad value', (parse, texts) => {
    for (const text of texts) {
      const result = (parse as (t: string) => ValueResult<unknown>)(text);
      expect(result.ok, `${JSON.stringify(text)} should be rejected`).toBe(false);
    }
  });

  it('each rejection carries its own code', () => {
    expect(parseMatch('x')).toMatchObject({ code: C.invalidMatch });
    expect(parseBoolean('x')).toMatchObject({ code: C.invalidBoolean });
    expect(parsePort('x')).toMatchObject({ code: C.invalidPort });
    expect(parseWeight('x')).toMatchObject({ code: C.invalidWeight });
    expect(parseDuration('x')).toMatchObject({ code: C.invalidDuration });
    expect(parseTls('x')).toMatchObject({ code: C.invalidTls });
    expect(parseSize('x')).toMatchObject({ code: C.invalidSize });
    expect(parseMethods('x')).toMatchObject({ code: C.invalidMethod });
    expect(parseCidrs('x')).toMatchObject({ code: C.invalidCidr });
  });
});

describe('allow (CIDR lists)', () => {
  it.each([
    ['192.0.2.0/24', ['192.0.2.0/24']],
    ['192.0.2.7', ['192.0.2.7/32']],
    ['0.0.0.0/0', ['0.0.0.0/0']],
    ['2001:DB8::/32', ['2001:db8::/32']],
    ['2001:0db8:0000:0000:0000:0000:0000:0000/32', ['2001:db8::/32']],
    ['2001:db8:0:0:1:0:0:1', ['2001:db8::1:0:0:1/128']],
    ['2001:db8:0:1:1:1:1:1', ['2001:db8:0:1:1:1:1:1/128']],
    ['::1', ['::1/128']],
    ['::', ['::/128']],
    ['::/0', ['::/0']],
    ['fe80::/10', ['fe80::/10']],
    ['::ffff:192.0.2.1', ['::ffff:c000:201/128']],
    ['192.0.2.0/24 127.0.0.1 192.0.2.0/24', ['127.0.0.1/32', '192.0.2.0/24']],
  ])('%s', (text, expected) => {
    expect(value(parseCidrs(text))).toEqual(expected);
  });

  it.each([
    '192.0.2.1/24',
    '192.0.2.0/33',
    '192.0.2.0/024',
    '256.0.0.0/8',
    '01.2.3.4',
    '1.2.3',
    '1.2.3.4.5',
    '2001:db8::1/32',
    '2001:db8::/129',
    '1:2:3:4:5:6:7:8:9',
    '1::2::3',
    ':1::',
    '12345::',
    'g::',
    'all',
    'localhost',
    '192.0.2.0/',
    '192.0.2.0/24;',
    '',
    // What ipaddr.js alone would take: short, hex and octal IPv4, zone ids, a short embedded IPv4.
    '127.1',
    '0x7f.0.0.1',
    '0177.0.0.1',
    'fe80::1%eth0',
    '::1.2.3',
    '::ffff:01.2.3.4',
    '::ffff:0x7f.0.0.1',
  ])('rejects %j', (text) => {
    expect(parseCidrs(text)).toMatchObject({ ok: false, code: C.invalidCidr });
  });

  it('at most 32 per route', () => {
    const list = (n: number) => Array.from({ length: n }, (_, i) => `192.0.2.${i}`).join(' ');
    expect(value(parseCidrs(list(32)))).toHaveLength(32);
    expect(parseCidrs(list(33))).toMatchObject({ ok: false });
  });
});
