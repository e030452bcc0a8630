/**
 * Reads back an upstreams file this controller rendered, so a daemon that starts from its last
 * known good file knows which upstreams NGINX serves (for the first diff it prints and the
 * upstream gauges), without having the state that produced it.
 *
 * Only the renderer's own format is understood (`upstream <name> {`, `server <ip>:<port>;`, the
 * DOWN placeholder); a file without a valid hash header is not ours and yields `undefined`.
 */

import { DOWN_PLACEHOLDER_SERVER, readRenderedHash } from '@ecs-ingress/renderer';
import type { Endpoint, Upstream } from '@ecs-ingress/types';

export interface RenderedUpstreamsFile {
  readonly hash: string;
  readonly upstreams: Upstream[];
}

const UPSTREAM_OPEN = /^upstream\s+(\S+)\s*\{$/;
const SERVER_LINE = /^server\s+(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5});$/;

/** The hash and upstreams of a rendered upstreams file, or `undefined` when it is not one. */
export function parseRenderedUpstreams(text: string): RenderedUpstreamsFile | undefined {
  const hash = readRenderedHash(text);
  if (hash === undefined) return undefined;
  const upstreams: Upstream[] = [];
  let current: { name: string; servers: Endpoint[] } | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (current === undefined) {
      const open = UPSTREAM_OPEN.exec(line);
      if (open?.[1] !== undefined) current = { name: open[1], servers: [] };
      continue;
    }
    if (line === '}') {
      upstreams.push(current);
      current = undefined;
      continue;
    }
    if (line === DOWN_PLACEHOLDER_SERVER) continue;
    const server = SERVER_LINE.exec(line);
    if (server?.[1] !== undefined && server[2] !== undefined) {
      // The task ARN is not in the file; the diff and the gauges never read it.
      current.servers.push({ address: server[1], port: Number(server[2]), taskArn: '' });
    }
  }
  return { hash, upstreams };
}
