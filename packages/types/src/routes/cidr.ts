/**
 * CIDRs for `allow` lists. The address is parsed by ipaddr.js; what ends up in NGINX text is only
 * its canonical re-serialisation (IPv4 dotted quad without leading zeros, IPv6 per RFC 5952:
 * lowercase, the longest run of zero groups compressed), so `2001:DB8:0:0::/32` and
 * `2001:db8::/32` are the same value and render the same bytes.
 *
 * ipaddr.js is lenient where NGINX text must not be: its IPv4 parser takes `127.1`, `0x7f.0.0.1`
 * and octal parts, its IPv6 parser zone ids (`fe80::1%eth0`). So IPv4 must be a strict four-part
 * decimal, IPv6 only hex digits, colons and a dotted four-part tail, and the prefix length is ours.
 */
import ipaddr from 'ipaddr.js';

/** A parsed network: its family and canonical text (`192.0.2.0/24`, `2001:db8::/32`). */
export interface Cidr {
  readonly family: 4 | 6;
  readonly text: string;
}

const IPV6_CHARS = /^[0-9A-Fa-f:.]{2,45}$/;
const PREFIX = /^(0|[1-9][0-9]{0,2})$/;

function parseAddress(text: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) return ipaddr.IPv4.parse(text);
  if (!IPV6_CHARS.test(text) || !text.includes(':')) return undefined;
  // An embedded IPv4 tail (`::ffff:192.0.2.1`) must be a four-part decimal too.
  const tail = text.slice(text.lastIndexOf(':') + 1);
  if (tail.includes('.') && !ipaddr.IPv4.isValidFourPartDecimal(tail)) return undefined;
  return ipaddr.IPv6.isValid(text) ? ipaddr.IPv6.parse(text) : undefined;
}

/**
 * `10.0.0.0/8`, `2001:db8::/32`, or a bare address (= /32 or /128). Host bits must be zero:
 * `10.0.0.1/8` is refused rather than silently widened or narrowed (NGINX itself only warns).
 * @returns the canonical network, or a reason
 */
export function parseCidr(text: string): Cidr | string {
  const slash = text.indexOf('/');
  const address = parseAddress(slash < 0 ? text : text.slice(0, slash));
  if (address === undefined) return 'not an IPv4 or IPv6 address';
  const family = address.kind() === 'ipv4' ? 4 : 6;
  const maxBits = family === 4 ? 32 : 128;
  let bits = maxBits;
  if (slash >= 0) {
    const prefixText = text.slice(slash + 1);
    if (!PREFIX.test(prefixText)) return 'the prefix length is not a number';
    bits = Number(prefixText);
    if (bits > maxBits) return `the prefix length is above ${maxBits}`;
  }
  const bytes = address.toByteArray();
  for (let bit = bits; bit < maxBits; bit += 1) {
    if (((bytes[bit >> 3] ?? 0) >> (7 - (bit & 7))) & 1) return `host bits are set beyond /${bits}`;
  }
  const canonical =
    address.kind() === 'ipv4' ? address.toString() : (address as ipaddr.IPv6).toRFC5952String();
  return { family, text: `${canonical}/${bits}` };
}
