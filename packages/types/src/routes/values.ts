/**
 * The value grammars of route labels (issue 16). Each parser accepts a narrow, explicit grammar and
 * returns a typed value; nothing here ever returns the input text unparsed, so the renderer only
 * sees values that were built from these types.
 */
import { parseCidr } from './cidr.js';
import { ROUTE_ERROR_CODES as C, type RouteErrorCode } from './errors.js';

export type ValueResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly code: RouteErrorCode; readonly reason: string };

const ok = <T>(value: T): ValueResult<T> => ({ ok: true, value });
const fail = <T>(code: RouteErrorCode, reason: string): ValueResult<T> => ({ ok: false, code, reason });

/** Limits of the grammar, exported for docs and tests. */
export const ROUTE_LIMITS = {
  hostLength: 253,
  hostsPerRoute: 20,
  pathLength: 256,
  cidrsPerRoute: 32,
  /** 24 h, the longest `timeout`. */
  maxTimeoutMs: 86_400_000,
  /** 10 GiB, the largest `max-body`. */
  maxBodyBytes: 10 * 1024 ** 3,
} as const;

/** The HTTP methods `methods` accepts, in their canonical (rendered) order; all `limit_except` knows. */
export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

/** `tls`: none, or a certificate pair shipped in the bundle under `tls/<name>.crt` and `.key`. */
export type TlsSetting = { readonly kind: 'off' } | { readonly kind: 'bundle'; readonly name: string };

export type PathMatch = 'exact' | 'prefix';

/** A body size limit: the bytes, and the canonical NGINX size text (`25m`, `0` = unlimited). */
export interface BodySize {
  readonly bytes: number;
  readonly text: string;
}

/**
 * Lists are separated by ASCII spaces only (one or more). Tabs, newlines and U+2028 are not
 * separators, so they stay inside an item and fail the item's grammar.
 */
function splitList(text: string): string[] {
  return text.split(/ +/).filter((item) => item !== '');
}

const HOST_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * One host name per RFC 1123 (letters, digits, hyphens; labels of 1–63 characters that neither
 * start nor end with a hyphen; ≤ 253 characters), with an optional leading `*.`. Lowercased: DNS
 * and NGINX `server_name` ignore case, so `Shop.Example.com` and `shop.example.com` are one host.
 */
export function parseHost(text: string): ValueResult<string> {
  if (text.length === 0) return fail(C.invalidHost, 'empty host');
  if (text.length > ROUTE_LIMITS.hostLength) return fail(C.invalidHost, 'host longer than 253 characters');
  const host = text.toLowerCase();
  const labels = (host.startsWith('*.') ? host.slice(2) : host).split('.');
  for (const label of labels) {
    if (!HOST_LABEL.test(label)) {
      return fail(C.invalidHost, 'not an RFC 1123 host name (optionally starting with "*.")');
    }
  }
  return ok(host);
}

/** `hosts`: 1–20 hosts separated by spaces; duplicates collapse; kept sorted. */
export function parseHosts(text: string): ValueResult<readonly string[]> {
  const items = splitList(text);
  if (items.length === 0) return fail(C.invalidHost, 'no host given');
  if (items.length > ROUTE_LIMITS.hostsPerRoute) return fail(C.invalidHost, 'more than 20 hosts');
  const hosts = new Set<string>();
  for (const item of items) {
    const host = parseHost(item);
    if (!host.ok) return host;
    hosts.add(host.value);
  }
  return ok([...hosts].sort());
}

const PATH = /^\/([A-Za-z0-9._~-]+\/?)*$/;

/**
 * `path` and `rewrite-prefix`: `/([A-Za-z0-9._~-]+/?)*`, ≤ 256 characters. No `..` anywhere and no
 * `.` segment (NGINX normalises those away, so such a location would never match); no `%`,
 * spaces, `//`, or anything a regex or NGINX would read specially.
 */
export function parsePath(text: string): ValueResult<string> {
  if (text.length > ROUTE_LIMITS.pathLength) return fail(C.invalidPath, 'path longer than 256 characters');
  if (!PATH.test(text))
    return fail(C.invalidPath, 'not a path of the form /segment/segment (A-Z a-z 0-9 . _ ~ -)');
  if (text.includes('..')) return fail(C.invalidPath, 'path contains ".."');
  if (text.split('/').includes('.')) return fail(C.invalidPath, 'path contains a "." segment');
  return ok(text);
}

export function parseMatch(text: string): ValueResult<PathMatch> {
  return text === 'exact' || text === 'prefix' ? ok(text) : fail(C.invalidMatch, 'expected exact or prefix');
}

/** Exactly `true` or `false`. */
export function parseBoolean(text: string): ValueResult<boolean> {
  if (text === 'true') return ok(true);
  if (text === 'false') return ok(false);
  return fail(C.invalidBoolean, 'expected true or false');
}

/** A TCP port, 1–65535, decimal without leading zeros. */
export function parsePort(text: string): ValueResult<number> {
  if (!/^[1-9][0-9]{0,4}$/.test(text) || Number(text) > 65_535) {
    return fail(C.invalidPort, 'expected a port 1-65535');
  }
  return ok(Number(text));
}

const TLS_BUNDLE_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/** `off` or `bundle:<name>` with `<name>` = `[a-z0-9][a-z0-9_-]{0,62}` (it becomes a file name). */
export function parseTls(text: string): ValueResult<TlsSetting> {
  if (text === 'off') return ok({ kind: 'off' });
  if (text.startsWith('bundle:') && TLS_BUNDLE_NAME.test(text.slice('bundle:'.length))) {
    return ok({ kind: 'bundle', name: text.slice('bundle:'.length) });
  }
  return fail(C.invalidTls, 'expected off or bundle:<name> (a-z 0-9 _ -)');
}

/** `methods`: uppercase names from `HTTP_METHODS`, separated by spaces; rendered in canonical order. */
export function parseMethods(text: string): ValueResult<readonly HttpMethod[]> {
  const items = splitList(text);
  if (items.length === 0) return fail(C.invalidMethod, 'no method given');
  const wanted = new Set<string>();
  for (const item of items) {
    if (!(HTTP_METHODS as readonly string[]).includes(item)) {
      return fail(C.invalidMethod, `expected methods among ${HTTP_METHODS.join(' ')}`);
    }
    wanted.add(item);
  }
  return ok(HTTP_METHODS.filter((method) => wanted.has(method)));
}

/** `allow`: 1–32 CIDRs (IPv4 or IPv6) separated by spaces, canonical, deduplicated, sorted. */
export function parseCidrs(text: string): ValueResult<readonly string[]> {
  const items = splitList(text);
  if (items.length === 0) return fail(C.invalidCidr, 'no CIDR given');
  if (items.length > ROUTE_LIMITS.cidrsPerRoute) return fail(C.invalidCidr, 'more than 32 CIDRs');
  const cidrs = new Set<string>();
  for (const item of items) {
    const cidr = parseCidr(item);
    if (typeof cidr === 'string') return fail(C.invalidCidr, cidr);
    cidrs.add(cidr.text);
  }
  return ok([...cidrs].sort());
}

const SIZE_UNITS: Readonly<Record<string, number>> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** `max-body`: `0` (no limit) or a whole number with an optional k/m/g unit, at most 10g. */
export function parseSize(text: string): ValueResult<BodySize> {
  const match = /^(0|[1-9][0-9]{0,10})([kKmMgG]?)$/.exec(text);
  if (!match) return fail(C.invalidSize, 'expected a size such as 512k, 25m or 1g');
  const amount = Number(match[1]);
  const unit = (match[2] ?? '').toLowerCase();
  const bytes = amount * (SIZE_UNITS[unit] ?? 1);
  if (bytes > ROUTE_LIMITS.maxBodyBytes) return fail(C.invalidSize, 'size above 10g');
  return ok({ bytes, text: `${amount}${unit}` });
}

const DURATION_UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `timeout`: a whole number with a unit (ms, s, m, h), from 1ms to 24h. Returns milliseconds. */
export function parseDuration(text: string): ValueResult<number> {
  const match = /^([1-9][0-9]{0,7})(ms|s|m|h)$/.exec(text);
  if (!match) return fail(C.invalidDuration, 'expected a duration such as 30s, 5m or 1h');
  const ms = Number(match[1]) * (DURATION_UNITS[match[2] ?? ''] ?? 0);
  if (ms > ROUTE_LIMITS.maxTimeoutMs) return fail(C.invalidDuration, 'duration above 24h');
  return ok(ms);
}

/**
 * `canary-weight`: 1–99 (percent). 0 would render nothing and 100 would be a takeover of the
 * owner's route, which only the owner's own deployment may do.
 */
export function parseWeight(text: string): ValueResult<number> {
  if (!/^[1-9][0-9]?$/.test(text)) return fail(C.invalidWeight, 'expected a whole percentage 1-99');
  return ok(Number(text));
}
