import { ep, up, xorshift } from '@ecs-ingress/testkit';
import type { Upstream } from '@ecs-ingress/types';
import { describe, expect, it } from 'vitest';
import { describeUpstreamDiff, diffUpstreams } from './diff-upstreams.js';

describe('diffUpstreams', () => {
  it.each([
    {
      title: 'nothing changed (order and duplicates do not matter)',
      before: [up('web', ep('10.0.0.1', 80), ep('10.0.0.2', 80)), up('api')],
      after: [up('api'), up('web', ep('10.0.0.2', 80), ep('10.0.0.1', 80), ep('10.0.0.1', 80))],
      lines: [],
      structural: false,
    },
    {
      title: 'a server replaced in a rolling deployment',
      before: [up('web', ep('10.0.0.1', 80), ep('10.0.0.2', 80))],
      after: [up('web', ep('10.0.0.2', 80), ep('10.0.0.3', 80))],
      lines: ['web + 10.0.0.3:80', 'web - 10.0.0.1:80'],
      structural: false,
    },
    {
      title: 'a port change is a different server',
      before: [up('web', ep('10.0.0.1', 80))],
      after: [up('web', ep('10.0.0.1', 8080))],
      lines: ['web + 10.0.0.1:8080', 'web - 10.0.0.1:80'],
      structural: false,
    },
    {
      title: 'a service appears with servers and another disappears',
      before: [up('old', ep('10.0.0.9', 80)), up('web')],
      after: [up('web'), up('new', ep('10.0.0.10', 80), ep('10.0.0.9', 80))],
      lines: [
        '+ upstream new',
        '- upstream old',
        'new + 10.0.0.9:80',
        'new + 10.0.0.10:80',
        'old - 10.0.0.9:80',
      ],
      structural: true,
    },
    {
      title: 'a service appears without servers',
      before: [],
      after: [up('web')],
      lines: ['+ upstream web'],
      structural: true,
    },
    {
      title: 'a service scales to zero (keeps its upstream)',
      before: [up('web', ep('10.0.0.1', 80))],
      after: [up('web')],
      lines: ['web - 10.0.0.1:80'],
      structural: false,
    },
    {
      title: 'unsafe names and invalid servers are invisible, as in the rendered file',
      before: [up('web', ep('10.0.0.1', 80))],
      after: [up('web', ep('10.0.0.1', 80), ep('10.0.0.300', 80)), up('x;}', ep('10.0.0.2', 80))],
      lines: [],
      structural: false,
    },
  ])('$title', ({ before, after, lines, structural }) => {
    const diff = diffUpstreams(before, after);
    expect(describeUpstreamDiff(diff)).toEqual(lines);
    expect(diff.structural).toBe(structural);
    expect(diff.empty).toBe(lines.length === 0);
  });

  it('reports per-upstream added and removed lists', () => {
    const diff = diffUpstreams(
      [up('a', ep('10.0.0.1', 80)), up('b', ep('10.0.0.5', 80))],
      [up('a', ep('10.0.0.2', 80)), up('b', ep('10.0.0.5', 80))],
    );
    expect(diff).toEqual({
      upstreamsAdded: [],
      upstreamsRemoved: [],
      servers: [{ name: 'a', added: ['10.0.0.2:80'], removed: ['10.0.0.1:80'] }],
      structural: false,
      empty: false,
    });
  });

  it.each([1, 2, 3, 4])(
    'seed %i: a list sharing objects with the last one diffs as deep copies do',
    (seed) => {
      // Deep copies share no object, so they take the whole-list path: the reference.
      const copies = (list: readonly Upstream[]) =>
        list.map((u) => up(u.name, ...u.servers.map((s) => ({ ...s }))));
      const next = xorshift(seed);
      const pick = (n: number) => Math.floor(next() * n);
      const servers = () =>
        Array.from({ length: pick(3) }, () =>
          ep(next() < 0.05 ? '127.0.0.256' : `127.0.0.${1 + pick(5)}`, 80),
        );
      const names = ['api', 'db', 'web', 'bad name', 'Jobs', 'jobs', 'web'];
      let before = ['api', 'db', 'web', 'worker'].map((name) => up(name, ...servers()));
      for (let step = 0; step < 200; step++) {
        const after = [...before];
        for (let c = 0; c <= pick(3); c++) {
          const i = pick(after.length);
          after[i] = up((after[i] as Upstream).name, ...servers());
        }
        if (next() < 0.1) {
          // The same odd name on both sides: repeated, unsafe, or equal to another ignoring case.
          const odd = up(names[pick(names.length)] as string, ...servers());
          before.push(odd);
          after.push(next() < 0.5 ? odd : up(odd.name, ...servers()));
        }
        expect(diffUpstreams(before, after)).toEqual(diffUpstreams(copies(before), copies(after)));
        before = after.filter((u) => !names.slice(3).includes(u.name) || u.name === 'web');
      }
    },
  );
});
