import { renderUpstreams } from '@ecs-ingress/renderer';
import { describe, expect, it } from 'vitest';
import { parseRenderedUpstreams } from './upstreams-text.js';

describe('parseRenderedUpstreams', () => {
  it('reads back what the renderer wrote, DOWN placeholders as empty upstreams', () => {
    const rendered = renderUpstreams([
      {
        name: 'web',
        servers: [
          { address: '10.0.1.2', port: 8080, taskArn: 't1' },
          { address: '10.0.1.3', port: 8080, taskArn: 't2' },
        ],
      },
      { name: 'api', servers: [] },
    ]);
    const parsed = parseRenderedUpstreams(rendered.text);
    expect(parsed?.hash).toBe(rendered.hash);
    expect(parsed?.upstreams.map((u) => [u.name, u.servers.map((s) => `${s.address}:${s.port}`)])).toEqual([
      ['api', []],
      ['web', ['10.0.1.2:8080', '10.0.1.3:8080']],
    ]);
  });

  it.each([
    { name: 'a foreign file', text: 'upstream web { server 10.0.0.1:80; }\n' },
    { name: 'an edited file', text: `${renderUpstreams([{ name: 'web', servers: [] }]).text}# edited\n` },
    { name: 'an empty file', text: '' },
  ])('returns undefined for $name', ({ text }) => {
    expect(parseRenderedUpstreams(text)).toBeUndefined();
  });
});
