/**
 * CIDRs for `allow` lists, parsed by hand because the value ends up in NGINX text: only a parsed
 * address is ever rendered, re-serialised canonically (IPv4 dotted quad without leading zeros,
 * IPv6 per RFC 5952: lowercase, the longest run of zero groups compressed), so `2001:DB8:0:0::/32`
 * and `2001:db8::/32` are the same value and render the same bytes.
 */

/** A parsed network: family, the address bytes (host bits zero) and the prefix length. */
export interface Cidr {
  readonly family: 4 | 6;
  readonly text: string;
}

const IPV4 =
  /^(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])){3}$/;
const HEX_GROUP = /^[0-9A-Fa-f]{1,4}$/;

function parseIpv4Bytes(text: string): number[] | undefined {
  if (!IPV4.test(text)) return undefined;
  return text.split('.').map(Number);
}

function parseIpv6Bytes(text: string): number[] | undefined {
  if (text.length > 45 || !/^[0-9A-Fa-f:.]+$/.test(text)) return undefined;
  let head = text;
  let tail4: number[] = [];
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.')) {
    const v4 = parseIpv4Bytes(text.slice(lastColon + 1));
    if (v4 === undefined) return undefined;
    tail4 = v4;
    head = text.slice(0, lastColon + 1);
    // `::1.2.3.4` leaves `::`; `a:b::1.2.3.4` leaves `a:b::`; `a:1.2.3.4` leaves `a:` (a dangling colon).
    if (head.endsWith(':') && !head.endsWith('::')) head = head.slice(0, -1);
  }
  const halves = head.split('::');
  if (halves.length > 2) return undefined;
  const groups = (part: string | undefined): string[] | undefined => {
    if (part === undefined || part === '') return [];
    const list = part.split(':');
    return list.every((g) => HEX_GROUP.test(g)) ? list : undefined;
  };
  const left = groups(halves[0]);
  const right = groups(halves[1]);
  if (left === undefined || right === undefined) return undefined;
  const wanted = tail4.length === 4 ? 6 : 8;
  const present = left.length + right.length;
  if (halves.length === 1 ? present !== wanted : present > wanted - 1) return undefined;
  const all = [...left, ...Array.from({ length: wanted - present }, () => '0'), ...right];
  const bytes: number[] = [];
  for (const group of all) {
    const value = Number.parseInt(group, 16);
    bytes.push(value >> 8, value & 0xff);
  }
  return [...bytes, ...tail4];
}

function formatIpv6(bytes: readonly number[]): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0));
  // RFC 5952 4.2: compress the longest run of two or more zero groups, the first one on a tie.
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i += 1;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j += 1;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

/**
 * `10.0.0.0/8`, `2001:db8::/32`, or a bare address (= /32 or /128). Host bits must be zero:
 * `10.0.0.1/8` is refused rather than silently widened or narrowed (NGINX itself only warns).
 * @returns the canonical network, or a reason
 */
export function parseCidr(text: string): Cidr | string {
  const slash = text.indexOf('/');
  const addressText = slash < 0 ? text : text.slice(0, slash);
  const prefixText = slash < 0 ? undefined : text.slice(slash + 1);
  const v4 = parseIpv4Bytes(addressText);
  const bytes = v4 ?? parseIpv6Bytes(addressText);
  if (bytes === undefined) return 'not an IPv4 or IPv6 address';
  const family = v4 === undefined ? 6 : 4;
  const maxBits = family === 4 ? 32 : 128;
  let bits = maxBits;
  if (prefixText !== undefined) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(prefixText)) return 'the prefix length is not a number';
    bits = Number(prefixText);
    if (bits > maxBits) return `the prefix length is above ${maxBits}`;
  }
  for (let bit = bits; bit < maxBits; bit += 1) {
    if (((bytes[bit >> 3] ?? 0) >> (7 - (bit & 7))) & 1) return `host bits are set beyond /${bits}`;
  }
  const address = family === 4 ? bytes.join('.') : formatIpv6(bytes);
  return { family, text: `${address}/${bits}` };
}
