import { describe, expect, it } from 'vitest';
import { ipv4ToNumber, isValidIpv4, isValidPort } from './addresses.js';
import { compareCodePoints, isSafeUpstreamName } from './names.js';

describe('isSafeUpstreamName', () => {
  it.each(['web', 'my-service', 'svc_internal', 'api.v2', '0numeric', 'UPPER', 'a', 'x'.repeat(255)])(
    'accepts %j',
    (name) => {
      expect(isSafeUpstreamName(name)).toBe(true);
    },
  );

  it.each([
    '',
    'a b',
    'x;}',
    '$foo',
    'evil{',
    'a}',
    'a"b',
    "a'b",
    'a#b',
    'a\\b',
    'a/b',
    'a:80',
    'tab\there',
    'line\nbreak',
    '-leading',
    '.leading',
    '_leading',
    'caf\u00e9',
    'x'.repeat(256),
  ])('rejects %j', (name) => {
    expect(isSafeUpstreamName(name)).toBe(false);
  });
});

describe('addresses', () => {
  it.each(['0.0.0.0', '10.0.0.1', '255.255.255.255', '172.31.5.20'])('accepts IPv4 %j', (a) => {
    expect(isValidIpv4(a)).toBe(true);
  });

  it.each([
    '256.0.0.1',
    '1.2.3',
    '1.2.3.4.5',
    '010.0.0.1',
    '1.2.3.4 ',
    ' 1.2.3.4',
    '1.2.3.-1',
    '::1',
    '',
    'a.b.c.d',
  ])('rejects IPv4 %j', (a) => {
    expect(isValidIpv4(a)).toBe(false);
  });

  it.each([
    [1, true],
    [65535, true],
    [0, false],
    [65536, false],
    [80.5, false],
    [-1, false],
    [Number.NaN, false],
    [Number.POSITIVE_INFINITY, false],
  ])('port %d valid: %s', (port, valid) => {
    expect(isValidPort(port)).toBe(valid);
  });

  it('orders addresses numerically', () => {
    expect(ipv4ToNumber('10.0.0.10')).toBeGreaterThan(ipv4ToNumber('10.0.0.9'));
    expect(ipv4ToNumber('255.255.255.255')).toBe(2 ** 32 - 1);
  });
});

describe('compareCodePoints', () => {
  it('sorts by code point, independent of locale', () => {
    expect(['b', 'B', 'a', 'A', '_', '-', '0'].sort(compareCodePoints)).toEqual([
      '-',
      '0',
      'A',
      'B',
      '_',
      'a',
      'b',
    ]);
  });
});
