import { ep, up } from '@ecs-ingress/testkit';
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
});
