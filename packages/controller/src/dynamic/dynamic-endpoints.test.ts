/**
 * The memoised dynamic render must give exactly what a render from scratch gives for the same
 * upstreams: files, hashes, endpoint sets and log lines, whether it patched its last render or
 * started over.
 */
import { ep, recordingLogger, up, xorshift } from '@ecs-ingress/testkit';
import type { Upstream } from '@ecs-ingress/types';
import { describe, expect, it } from 'vitest';
import { endpointSetsOf } from './dynamic-endpoints.js';
import { type DynamicRenderMemo, type DynamicRenderOptions, renderDynamic } from './dynamic-render.js';

const OPTIONS: DynamicRenderOptions = {
  httpUpstreamsFile: '/n/upstreams.conf',
  preambleFile: '/n/ecs-ingress-dynamic.conf',
  streamUpstreamsFile: '/n/stream-upstreams.conf',
  controlListen: '127.0.0.1:10255',
  luaPackagePath: '/app/lua',
};

const server = ep;

/** Deep copies, so nothing is shared with earlier renders. */
const copies = (upstreams: readonly Upstream[]) =>
  upstreams.map((u) => up(u.name, ...u.servers.map((s) => ({ ...s }))));

function expectSameAsFresh(
  memo: DynamicRenderMemo,
  list: readonly Upstream[],
  options: DynamicRenderOptions = OPTIONS,
): void {
  const logger = recordingLogger();
  const got = renderDynamic(list, { ...options, logger }, memo);
  const freshLogger = recordingLogger();
  const fresh = renderDynamic(copies(list), { ...options, logger: freshLogger });
  expect(got).toEqual(fresh);
  expect(logger.lines).toEqual(freshLogger.lines);
}

describe('endpointSetsOf', () => {
  it('hashes equal sets equal whatever the input order, and moves with any list', () => {
    const a = up('api', server('127.0.0.2', 80));
    const b = up('web', server('127.0.0.1', 80), server('127.0.0.3', 80));
    const one = endpointSetsOf([a, b]);
    expect(endpointSetsOf([b, a]).hash).toBe(one.hash);
    expect(one.endpoints).toEqual({ api: ['127.0.0.2:80'], web: ['127.0.0.1:80', '127.0.0.3:80'] });
    expect(endpointSetsOf([a, up('web', server('127.0.0.1', 80))]).hash).not.toBe(one.hash);
    expect(endpointSetsOf([a, up('web')]).hash).not.toBe(one.hash);
  });

  it('with a memo, reuses the lists of the upstream objects that did not change', () => {
    const memo = {};
    const a = up('api', server('127.0.0.2', 80));
    const first = endpointSetsOf([a, up('web', server('127.0.0.1', 80))], {}, memo);
    const second = endpointSetsOf([a, up('web', server('127.0.0.9', 80))], {}, memo);
    expect(second.endpoints.api).toBe(first.endpoints.api);
    expect(second.names).toBe(first.names);
    expect(second.endpoints.web).toEqual(['127.0.0.9:80']);
    expect(second.hash).not.toBe(first.hash);
  });
});

describe('renderDynamic with a memo', () => {
  it.each([1, 2, 3, 4, 5, 6])('seed %i: 300 successive changes equal a render from scratch', (seed) => {
    const next = xorshift(seed);
    const pick = (n: number) => Math.floor(next() * n);
    const memo: DynamicRenderMemo = {};
    const streamServices = seed % 2 === 0 ? (['db', 'svc-3'] as const) : ('none' as const);
    const options = { ...OPTIONS, streamServices };
    const endpoint = () =>
      next() < 0.04 ? server('127.0.0.256', 80) : server(`127.0.${pick(3)}.${1 + pick(9)}`, 8080 + pick(2));
    const servers = () => Array.from({ length: pick(4) }, endpoint);
    let list = ['api', 'db', 'web', 'worker'].map((name) => up(name, ...servers()));
    for (let step = 0; step < 300; step++) {
      const roll = next();
      if (roll < 0.05) {
        // A service appears or goes: the names change (structural).
        const name = `svc-${pick(6)}`;
        const others = list.filter((u) => u.name !== name);
        list =
          others.length < list.length
            ? others
            : [...list, up(name, ...servers())].sort((x, y) => (x.name < y.name ? -1 : 1));
      } else if (roll < 0.09) {
        // Not one to one: an unsafe name, a name equal to another ignoring case, a repeated name.
        const odd = ['bad name', 'WEB', 'api'][pick(3)] as string;
        expectSameAsFresh(memo, [...list, up(odd, ...servers())], options);
        continue;
      } else if (roll < 0.11) {
        // Unsorted input (e.g. another deriver): still right, without the memo's help.
        expectSameAsFresh(memo, [...list].reverse(), options);
        continue;
      } else if (roll < 0.14) {
        // Nothing changed: the very same objects.
        list = [...list];
      } else {
        // Endpoint-only: one or two services get new objects with new servers.
        const changes = 1 + pick(2);
        list = [...list];
        for (let c = 0; c < changes; c++) {
          const i = pick(list.length);
          list[i] = up((list[i] as Upstream).name, ...servers());
        }
      }
      expectSameAsFresh(memo, list, options);
    }
  });
});
