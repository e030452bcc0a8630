import { xorshift } from '@ecs-ingress/testkit';
import { describe, expect, it } from 'vitest';
import { ipv4Number, ipv4ToNumber, isValidIpv4 } from './addresses.js';

/** The reference: the regex-based check and the split-based conversion. */
function reference(address: string): number {
  return isValidIpv4(address) ? ipv4ToNumber(address) : -1;
}

describe('ipv4Number', () => {
  it.each([
    ['0.0.0.0', 0],
    ['10.0.1.17', 167772433],
    ['255.255.255.255', 4294967295],
    ['1.2.3.4', 16909060],
    ['256.0.0.1', -1],
    ['01.2.3.4', -1],
    ['1.2.3.00', -1],
    ['1.2.3', -1],
    ['1.2.3.4.5', -1],
    ['1..3.4', -1],
    ['.1.2.3', -1],
    ['1.2.3.', -1],
    ['1.2.3.4 ', -1],
    [' 1.2.3.4', -1],
    ['1.2.3.4\n', -1],
    ['1000.2.3.4', -1],
    ['1.2.3.999', -1],
    ['1.2.3.4; include /x', -1],
    ['', -1],
    ['a.b.c.d', -1],
    ['１.2.3.4', -1],
  ])('%j → %d, as the regex check says', (address, expected) => {
    expect(ipv4Number(address)).toBe(expected);
    expect(ipv4Number(address)).toBe(reference(address));
  });

  it('agrees with the regex check on 20,000 random near-addresses', () => {
    const random = xorshift(7);
    const octets = [
      '0',
      '1',
      '9',
      '10',
      '25',
      '99',
      '100',
      '199',
      '249',
      '255',
      '256',
      '300',
      '00',
      '01',
      '999',
    ];
    const junk = ['', ' ', 'x', '1000', '.', '-1', '\n'];
    const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;
    let valid = 0;
    for (let i = 0; i < 20_000; i++) {
      const parts: string[] = [];
      const count = random() < 0.8 ? 4 : 3 + Math.floor(random() * 3);
      for (let k = 0; k < count; k++) parts.push(random() < 0.95 ? pick(octets) : pick(junk));
      const address = parts.join(random() < 0.97 ? '.' : pick([',', '..', ':']));
      const expected = reference(address);
      if (expected >= 0) valid++;
      expect([address, ipv4Number(address)]).toEqual([address, expected]);
    }
    expect(valid).toBeGreaterThan(50);
  });
});
