import type { Logger, Upstream } from '@ecs-ingress/types';
import { type RenderResult, withHashHeader } from './hash.js';
import { serverList } from './normalize.js';
import { renderBlock, renderUpstreams } from './render-upstreams.js';

/** `renderUpstreams` with a memory of the last call (see `createUpstreamsRenderer`). */
export type UpstreamsRenderer = (
  upstreams: readonly Upstream[],
  options?: { logger?: Logger },
) => RenderResult;

/** The last render, position by position, when its input mapped one to one onto its blocks. */
interface Last {
  readonly upstreams: readonly Upstream[];
  readonly blocks: string[];
  readonly serverCounts: number[];
  /** Server-level skip reasons per position. */
  readonly skips: (readonly string[])[];
  /** Sum of `serverCounts`. */
  readonly serverCount: number;
  /** Positions with skip reasons. */
  readonly skipping: number;
}

/**
 * A renderer for successive upstream lists, as the reconciler renders them: the same bytes and
 * hash as `renderUpstreams`, but when the list has the same names at the same positions as last
 * time (a sorted list of safe, distinct names: what the derivation hands over while no service
 * appears), only the upstreams that are new objects are validated and rendered again; the others
 * keep their block. The file is then joined and hashed whole (SHA-256 of ~1.5 MB for 5,000
 * services: about a millisecond). The memory is this function's own.
 */
export function createUpstreamsRenderer(): UpstreamsRenderer {
  let last: Last | undefined;
  return (upstreams, options = {}) => {
    const previous = last;
    if (previous === undefined || !sameUpstreamNames(previous.upstreams, upstreams)) {
      const result = renderUpstreams(upstreams, options);
      last = oneToOne(upstreams, result) ? remember(upstreams) : undefined;
      return result;
    }
    const blocks = previous.blocks.slice();
    const serverCounts = previous.serverCounts.slice();
    const skips = previous.skips.slice();
    let serverCount = previous.serverCount;
    let skipping = previous.skipping;
    for (let i = 0; i < upstreams.length; i++) {
      const upstream = upstreams[i] as Upstream;
      if (upstream === previous.upstreams[i]) continue;
      const list = serverList(upstream);
      blocks[i] = renderBlock(upstream.name, list.texts);
      serverCount += list.texts.length - (serverCounts[i] as number);
      serverCounts[i] = list.texts.length;
      skipping += (list.skips.length > 0 ? 1 : 0) - ((skips[i] as readonly string[]).length > 0 ? 1 : 0);
      skips[i] = list.skips;
    }
    last = { upstreams, blocks, serverCounts, skips, serverCount, skipping };
    const skipped: { name: string; reason: string }[] = [];
    for (let i = 0; skipping > 0 && i < upstreams.length; i++) {
      for (const reason of skips[i] as readonly string[]) {
        const name = (upstreams[i] as Upstream).name;
        skipped.push({ name, reason });
        options.logger?.warn({ upstream: name, reason }, 'upstream or server skipped by the renderer');
      }
    }
    const { text, hash } = withHashHeader('upstreams', blocks.join('\n'));
    return { text, hash, upstreamCount: upstreams.length, serverCount, skipped };
  };
}

/**
 * Same length and, position by position, the same object or the same name: then a position holding
 * the same object as last time holds the same upstream, and only the others can have changed (the
 * store's deriver hands back the same object for every service whose tasks did not change).
 */
export function sameUpstreamNames(a: readonly Upstream[], b: readonly Upstream[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as Upstream;
    const y = b[i] as Upstream;
    if (x !== y && x.name !== y.name) return false;
  }
  return true;
}

/** True when every input upstream is rendered as its own block, in input order. */
function oneToOne(upstreams: readonly Upstream[], result: RenderResult): boolean {
  if (result.upstreamCount !== upstreams.length) return false;
  for (let i = 1; i < upstreams.length; i++) {
    if (!((upstreams[i - 1] as Upstream).name < (upstreams[i] as Upstream).name)) return false;
  }
  return true;
}

function remember(upstreams: readonly Upstream[]): Last {
  const blocks: string[] = [];
  const serverCounts: number[] = [];
  const skips: (readonly string[])[] = [];
  let serverCount = 0;
  let skipping = 0;
  for (const upstream of upstreams) {
    const list = serverList(upstream);
    blocks.push(renderBlock(upstream.name, list.texts));
    serverCounts.push(list.texts.length);
    serverCount += list.texts.length;
    skips.push(list.skips);
    if (list.skips.length > 0) skipping += 1;
  }
  return { upstreams, blocks, serverCounts, skips, serverCount, skipping };
}
