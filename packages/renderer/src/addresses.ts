/**
 * Defensive validation of backend addresses. Derivation already rejects bad IPs, but the renderer
 * is the last gate before text reaches NGINX, so it re-checks: a value like `10.0.0.1; include /x`
 * must never be written.
 */

import { ipv4ToNumber, isValidIpv4 } from '@ecs-ingress/types';

export { ipv4ToNumber, isValidIpv4, isValidPort } from '@ecs-ingress/types';

/**
 * `ipv4ToNumber(address)` when `isValidIpv4(address)`, else -1, in one pass over the characters
 * (the renderer's hot path: a regex test, a split and a `Number` per octet cost ~1 µs per server,
 * 10 ms for a 10,000-server file). Accepts exactly what `isValidIpv4` accepts (tested against it).
 */
export function ipv4Number(address: string): number {
  if (typeof address !== 'string') return isValidIpv4(address) ? ipv4ToNumber(String(address)) : -1;
  let value = 0;
  let octet = 0;
  let digits = 0;
  let startsWithZero = false;
  let dots = 0;
  for (let i = 0; i < address.length; i++) {
    const code = address.charCodeAt(i);
    if (code === 46 /* . */) {
      if (digits === 0 || dots === 3 || octet > 255) return -1;
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
      dots++;
    } else if (code >= 48 && code <= 57) {
      // `0` stands alone; otherwise 1 to 3 digits without a leading zero.
      if (digits === 0) startsWithZero = code === 48;
      else if (digits === 3 || startsWithZero) return -1;
      octet = octet * 10 + (code - 48);
      digits++;
    } else {
      return -1;
    }
  }
  if (dots !== 3 || digits === 0 || octet > 255) return -1;
  return value * 256 + octet;
}
