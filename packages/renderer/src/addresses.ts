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
