import { describe, expect, it } from 'vitest';
import { ipv4ToNumber, isBackendIpv4, isValidIpv4, isValidPort } from './addresses.js';

describe('addresses', () => {
  it.each(['0.0.0.0', '192.0.2.1', '255.255.255.255', '127.0.0.1', '1.2.3.4'])('IPv4 %j is valid', (a) => {
    expect(isValidIpv4(a)).toBe(true);
  });

  it.each([
    '',
    '256.0.0.1',
    '010.0.0.1',
    '1.2.3',
    '1.2.3.4.5',
    ' 1.2.3.4',
    '1.2.3.4 ',
    '1.2.3.4;',
    '1.2.3.4\n',
    '::1',
    '1.2.3.-4',
    '1..2.3',
  ])('IPv4 %j is not', (a) => {
    expect(isValidIpv4(a)).toBe(false);
    expect(isBackendIpv4(a)).toBe(false);
  });

  it('the unspecified address is valid IPv4 but no backend', () => {
    expect(isValidIpv4('0.0.0.0')).toBe(true);
    expect(isBackendIpv4('0.0.0.0')).toBe(false);
    expect(isBackendIpv4('192.0.2.7')).toBe(true);
  });

  it('orders addresses numerically', () => {
    expect(ipv4ToNumber('192.0.2.10')).toBeGreaterThan(ipv4ToNumber('192.0.2.9'));
    expect(ipv4ToNumber('255.255.255.255')).toBe(2 ** 32 - 1);
    expect(ipv4ToNumber('0.0.0.0')).toBe(0);
  });

  it.each([
    [1, true],
    [65535, true],
    [0, false],
    [65536, false],
    [80.5, false],
  ])('port %d valid: %s', (p, ok) => {
    expect(isValidPort(p)).toBe(ok);
  });
});
