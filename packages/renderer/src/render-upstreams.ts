import type { Logger, Upstream } from '@ecs-ingress/types';
import { type RenderResult, withHashHeader } from './hash.js';
import { normalizeUpstreams } from './normalize.js';

/**
 * The ancestor's placeholder for a service with no running task: the `upstream` block must exist
 * so the user's `proxy_pass http://<service>` (or stream `proxy_pass <service>`) stays valid, and
 * an upstream needs at least one server. `down` means NGINX never sends traffic to it (502 in http,
 * a closed connection in stream).
 */
export const DOWN_PLACEHOLDER_SERVER = 'server 127.0.0.1:80 down;';
const PLACEHOLDER_LINE = `  ${DOWN_PLACEHOLDER_SERVER}\n`;

/**
 * Renders `upstreams.conf`. The text uses only `upstream` and `server <ip>:<port> [down]`, which
 * mean the same in the `http` and the `stream` context, so the user may include the same file in
 * both (as with the ancestor). Format, one block per service, blank line between blocks:
 *
 * ```
 * # ecs-ingress upstreams sha256:<hex of the rest of the file>
 * upstream web {
 *   server 10.0.1.17:8080;
 * }
 * ```
 *
 * Pure and deterministic: names in code-point order, servers by numeric IP then port, duplicates
 * collapsed, no timestamps — equal input gives byte-identical output and hash. Unsafe names and
 * invalid servers are skipped, reported in `skipped` and logged once each on `options.logger`.
 */
export function renderUpstreams(
  upstreams: readonly Upstream[],
  options: { logger?: Logger } = {},
): RenderResult {
  const normalized = normalizeUpstreams(upstreams, options);
  const blocks: string[] = [];
  let serverCount = 0;
  for (const upstream of normalized.upstreams) {
    blocks.push(renderBlock(upstream.name, upstream.servers));
    serverCount += upstream.servers.length;
  }
  // One join: `+=` over 10,000 lines builds a rope that hashing then has to flatten.
  const body = blocks.join('\n');
  const { text, hash } = withHashHeader('upstreams', body);
  return {
    text,
    hash,
    upstreamCount: normalized.upstreams.length,
    serverCount,
    skipped: normalized.skipped,
  };
}

/**
 * Blocks by the server list they were rendered from: `normalizeUpstreams` returns the same list
 * object for an unchanged upstream, so only changed services are re-rendered.
 */
const blockCache = new WeakMap<readonly string[], { readonly name: string; readonly block: string }>();

export function renderBlock(name: string, servers: readonly string[]): string {
  const cached = blockCache.get(servers);
  if (cached !== undefined && cached.name === name) return cached.block;
  const parts: string[] = ['upstream ', name, ' {\n'];
  if (servers.length === 0) parts.push(PLACEHOLDER_LINE);
  else for (const server of servers) parts.push('  server ', server, ';\n');
  parts.push('}\n');
  const block = parts.join('');
  blockCache.set(servers, { name, block });
  return block;
}
