import type { Upstream } from '@ecs-ingress/types';
import { describe, expect, it } from 'vitest';
import { classifyChange, endpointSets } from './split-change.js';

/** `up('web', '10.0.0.1:80', ...)` → an Upstream with those servers. */
function up(name: string, ...servers: string[]): Upstream {
  return {
    name,
    servers: servers.map((server, index) => {
      const [address = '', port = '0'] = server.split(':');
      return { address, port: Number(port), taskArn: `arn:aws:ecs:eu-west-1:1:task/c/${name}-${index}` };
    }),
  };
}

describe('classifyChange', () => {
  it.each<[string, Upstream[] | undefined, Upstream[], ReturnType<typeof classifyChange>]>([
    ['no previous state', undefined, [up('web', '10.0.0.1:80')], { structural: true, endpointOnly: {} }],
    ['a service appears', [up('web')], [up('web'), up('api')], { structural: true, endpointOnly: {} }],
    ['a service disappears', [up('web'), up('api')], [up('web')], { structural: true, endpointOnly: {} }],
    ['a service is renamed', [up('web')], [up('www')], { structural: true, endpointOnly: {} }],
    [
      'a repeated name',
      [up('web'), up('api')],
      [up('web'), up('web')],
      { structural: true, endpointOnly: {} },
    ],
    [
      'nothing changed',
      [up('web', '10.0.0.1:80')],
      [up('web', '10.0.0.1:80')],
      { structural: false, endpointOnly: {} },
    ],
    [
      'only the order changed',
      [up('web', '10.0.0.1:80', '10.0.0.2:80')],
      [up('web', '10.0.0.2:80', '10.0.0.1:80')],
      { structural: false, endpointOnly: {} },
    ],
    [
      'an endpoint added',
      [up('web', '10.0.0.1:80'), up('api', '10.0.1.1:80')],
      [up('web', '10.0.0.2:80', '10.0.0.1:80'), up('api', '10.0.1.1:80')],
      { structural: false, endpointOnly: { web: ['10.0.0.1:80', '10.0.0.2:80'] } },
    ],
    [
      'the last endpoint removed',
      [up('web', '10.0.0.1:80'), up('api', '10.0.1.1:80')],
      [up('web', '10.0.0.1:80'), up('api')],
      { structural: false, endpointOnly: { api: [] } },
    ],
    [
      'a port changed',
      [up('web', '10.0.0.1:80')],
      [up('web', '10.0.0.1:81')],
      { structural: false, endpointOnly: { web: ['10.0.0.1:81'] } },
    ],
    [
      'two services changed, services listed in another order',
      [up('web', '10.0.0.1:80'), up('api', '10.0.1.1:80')],
      [up('api', '10.0.1.2:80'), up('web', '10.0.0.3:80')],
      { structural: false, endpointOnly: { api: ['10.0.1.2:80'], web: ['10.0.0.3:80'] } },
    ],
    [
      'a duplicated endpoint appears',
      [up('web', '10.0.0.1:80')],
      [up('web', '10.0.0.1:80', '10.0.0.1:80')],
      {
        structural: false,
        endpointOnly: {},
      },
    ],
  ])('%s', (_label, prev, next, expected) => {
    expect(classifyChange(prev, next)).toEqual(expected);
  });
});

describe('endpointSets', () => {
  it('lists every service with sorted, de-duplicated endpoints', () => {
    expect(endpointSets([up('web', '10.0.0.2:80', '10.0.0.1:80', '10.0.0.2:80'), up('api')])).toEqual({
      web: ['10.0.0.1:80', '10.0.0.2:80'],
      api: [],
    });
  });
});
