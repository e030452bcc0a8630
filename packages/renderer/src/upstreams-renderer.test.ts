/**
 * The memoising renderer must give exactly what `renderUpstreams` gives for the same list: text,
 * hash, counts, skipped items and log lines, whether it patched its last render or started over.
 */

import { ep, recordingLogger, renderCases, up } from '@ecs-ingress/testkit';
import type { Upstream } from '@ecs-ingress/types';
import { describe, expect, it } from 'vitest';
import { renderUpstreams } from './render-upstreams.js';
import { createUpstreamsRenderer, sameUpstreamNames } from './upstreams-renderer.js';

/** Deep copies, so nothing is shared with earlier renders. */
const copies = (upstreams: readonly Upstream[]) =>
  upstreams.map((u) => up(u.name, ...u.servers.map((s) => ({ ...s }))));

/** A small deterministic generator (mulberry32). */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function expectSameAsFresh(render: ReturnType<typeof createUpstreamsRenderer>, list: readonly Upstream[]) {
  const logger = recordingLogger();
  const got = render(list, { logger });
  const freshLogger = recordingLogger();
  const fresh = renderUpstreams(copies(list), { logger: freshLogger });
  expect(got).toEqual(fresh);
  expect(logger.lines).toEqual(freshLogger.lines);
}

describe('createUpstreamsRenderer', () => {
  it('renders every golden case as renderUpstreams does, in turn and again', () => {
    const render = createUpstreamsRenderer();
    for (const c of [...renderCases, ...renderCases]) expectSameAsFresh(render, c.upstreams);
  });

  it.each([1, 2, 3, 4])('seed %i: 200 successive lists with a few changed upstreams', (seed) => {
    const next = random(seed);
    const render = createUpstreamsRenderer();
    const server = () =>
      next() < 0.05
        ? ep('10.0.0.256', 80)
        : ep(`127.0.${Math.floor(next() * 4)}.${1 + Math.floor(next() * 9)}`, 8080);
    let names = ['api', 'db', 'web', 'worker'];
    let list = names.map((name) => up(name, server()));
    for (let step = 0; step < 200; step++) {
      const roll = next();
      if (roll < 0.05) {
        // A new service: names change (the renderer starts over).
        names = [...new Set([...names, `svc-${Math.floor(next() * 20)}`])].sort();
        const byName = new Map(list.map((u) => [u.name, u]));
        list = names.map((name) => byName.get(name) ?? up(name));
      } else if (roll < 0.08) {
        // Not one to one: an unsafe name, or two names equal ignoring case.
        expectSameAsFresh(render, [...list, up(next() < 0.5 ? 'bad name' : 'WEB', server())]);
      } else {
        list = list.slice();
        const i = Math.floor(next() * list.length);
        const servers = Array.from({ length: Math.floor(next() * 4) }, server);
        list[i] = up((list[i] as Upstream).name, ...servers);
      }
      expectSameAsFresh(render, list);
    }
  });
});

describe('sameUpstreamNames', () => {
  const a: Upstream = { name: 'a', servers: [] };
  const b: Upstream = { name: 'b', servers: [] };
  it('holds for the same objects, or the same names, at the same places', () => {
    expect(sameUpstreamNames([a, b], [a, b])).toBe(true);
    expect(sameUpstreamNames([a, b], [a, up('b', ep('127.0.0.1', 80))])).toBe(true);
  });
  it('fails for another length, another order or another name', () => {
    expect(sameUpstreamNames([a, b], [a])).toBe(false);
    expect(sameUpstreamNames([a, b], [b, a])).toBe(false);
    expect(sameUpstreamNames([a, b], [a, { name: 'c', servers: [] }])).toBe(false);
  });
});
