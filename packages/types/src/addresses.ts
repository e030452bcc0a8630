/**
 * IPv4 addresses and ports, one definition for the whole workspace (the store admits backends with
 * it, the renderer re-checks what it writes with it).
 *
 * Strict dotted quad: four decimal octets 0..255 without leading zeros (a leading zero reads as
 * octal to some parsers, so `010.0.0.1` is refused rather than guessed).
 */
const OCTET = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]\\d|\\d)';
const IPV4 = new RegExp(`^${OCTET}\\.${OCTET}\\.${OCTET}\\.${OCTET}$`);

/** True for a strict dotted-quad IPv4 address. */
export function isValidIpv4(value: string): boolean {
  return typeof value === 'string' && IPV4.test(value);
}

/**
 * True for an address a backend can have: a valid IPv4 other than the unspecified `0.0.0.0`,
 * which is a bind address (ECS's `bindIP`), never a backend.
 */
export function isBackendIpv4(value: string): boolean {
  return isValidIpv4(value) && value !== '0.0.0.0';
}

/** True for an integer TCP port 1..65535. */
export function isValidPort(port: number): boolean {
  return Number.isInteger(port) && port >= 1 && port <= 65535;
}

/** The address as an unsigned 32-bit number, for numeric sorting; only for valid addresses. */
export function ipv4ToNumber(value: string): number {
  let out = 0;
  let octet = 0;
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code === 46 /* . */) {
      out = out * 256 + octet;
      octet = 0;
    } else {
      octet = octet * 10 + (code - 48);
    }
  }
  return out * 256 + octet;
}
