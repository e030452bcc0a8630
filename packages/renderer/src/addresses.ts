/**
 * Defensive validation of backend addresses. Derivation already rejects bad IPs, but the renderer
 * is the last gate before text reaches NGINX, so it re-checks: a value like `10.0.0.1; include /x`
 * must never be written.
 */

/** Dotted-quad IPv4, each octet 0..255 written in decimal without leading zeros (`010` is ambiguous: octal to some parsers). */
const IPV4 = /^(?:0|[1-9][0-9]{0,2})(?:\.(?:0|[1-9][0-9]{0,2})){3}$/;

/** True for a dotted-quad IPv4 address with octets 0..255. */
export function isValidIpv4(address: string): boolean {
  if (!IPV4.test(address)) return false;
  return address.split('.').every((octet) => Number(octet) <= 255);
}

/** True for an integer TCP port 1..65535. */
export function isValidPort(port: number): boolean {
  return Number.isInteger(port) && port >= 1 && port <= 65535;
}

/** The address as an unsigned 32-bit number, for numeric sorting. Only for valid addresses. */
export function ipv4ToNumber(address: string): number {
  let value = 0;
  for (const octet of address.split('.')) value = value * 256 + Number(octet);
  return value;
}

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
