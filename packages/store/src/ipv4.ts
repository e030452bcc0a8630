/**
 * Strict dotted-quad IPv4: four decimal octets 0..255 without leading zeros (a leading zero reads
 * as octal to some parsers, so `010.0.0.1` is refused rather than guessed), and not the
 * unspecified address `0.0.0.0`, which is a bind address (`bindIP`), never a backend.
 */
const OCTET = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]\\d|\\d)';
const IPV4 = new RegExp(`^${OCTET}\\.${OCTET}\\.${OCTET}\\.${OCTET}$`);

export function isValidIpv4(value: string): boolean {
  return IPV4.test(value) && value !== '0.0.0.0';
}

/** The address as an unsigned 32-bit number, for numeric sorting; assumes `isValidIpv4`. */
export function ipv4ToNumber(value: string): number {
  let out = 0;
  let octet = 0;
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code === 46) {
      out = out * 256 + octet;
      octet = 0;
    } else {
      octet = octet * 10 + (code - 48);
    }
  }
  return out * 256 + octet;
}
