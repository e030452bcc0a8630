import { createHash } from 'node:crypto';

/** What every rendered file returns: the text plus what the reconciler and logs need about it. */
export interface RenderResult {
  /** The whole file: the hash comment line, then the body. Ends with a newline. */
  readonly text: string;
  /** Hex SHA-256 of the body (everything after the first line), also written in the first line. */
  readonly hash: string;
  /** `upstream` blocks written. */
  readonly upstreamCount: number;
  /** Real `server` lines written (placeholders not counted). */
  readonly serverCount: number;
  /** Upstreams and servers left out, with the reason. */
  readonly skipped: readonly { readonly name: string; readonly reason: string }[];
}

/** First-line labels; the label says which renderer wrote the file. */
export type HashLabel = 'upstreams' | 'dynamic-upstreams';

const HEADER = /^# ecs-ingress (upstreams|dynamic-upstreams) sha256:([0-9a-f]{64})\n/;

/**
 * Prefixes `body` with `# ecs-ingress <label> sha256:<hex>`. The hash covers only the body, so it
 * is a pure function of the content and can be compared with what is on disk (`readRenderedHash`)
 * without re-rendering.
 */
export function withHashHeader(label: HashLabel, body: string): { text: string; hash: string } {
  const hash = sha256Hex(body);
  return { text: `# ecs-ingress ${label} sha256:${hash}\n${body}`, hash };
}

/**
 * The hash in the first line of a file this package rendered, if the body still matches it;
 * `undefined` for a foreign, edited or truncated file.
 */
export function readRenderedHash(text: string): string | undefined {
  const match = HEADER.exec(text);
  const hash = match?.[2];
  if (match === null || hash === undefined) return undefined;
  const body = text.slice(match[0].length);
  return sha256Hex(body) === hash ? hash : undefined;
}

/**
 * SHA-256 of the UTF-8 bytes of `text`. A rendered file is ASCII (safe names, addresses, ports),
 * and for ASCII the Latin-1 bytes are the UTF-8 bytes: copying them out is a quarter of the cost
 * of UTF-8 encoding 1.5 MB (5,000 services). `byteLength` equals `length` exactly for ASCII.
 */
function sha256Hex(text: string): string {
  const hash = createHash('sha256');
  if (Buffer.byteLength(text, 'utf8') === text.length) hash.update(Buffer.from(text, 'latin1'));
  else hash.update(text, 'utf8');
  return hash.digest('hex');
}
