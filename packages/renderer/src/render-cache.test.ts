/**
 * The renderer caches per `Upstream` object (validated servers) and per server list (the rendered
 * block). Reusing objects across renders must give exactly what rendering fresh copies gives,
 * including the skipped items, which are reported (and logged) on every render.
 */

import { ep, recordingLogger, renderCases, up } from '@ecs-ingress/testkit';
import type { Upstream } from '@ecs-ingress/types';
import { describe, expect, it } from 'vitest';
import { normalizeUpstreams } from './normalize.js';
import { renderUpstreams } from './render-upstreams.js';

/** Deep copies, so nothing is shared with earlier renders. */
const copies = (upstreams: readonly Upstream[]) =>
  upstreams.map((u) => up(u.name, ...u.servers.map((s) => ({ ...s }))));

describe('renderUpstreams caches', () => {
  const all = renderCases.flatMap((c) => c.upstreams);

  it('renders the same objects again to the same text, skipped items and log lines', () => {
    const firstLogger = recordingLogger();
    const first = renderUpstreams(all, { logger: firstLogger });
    const againLogger = recordingLogger();
    const again = renderUpstreams(all, { logger: againLogger });
    const fresh = renderUpstreams(copies(all));
    expect(again).toEqual(first);
    expect(fresh).toEqual(first);
    expect(againLogger.lines).toEqual(firstLogger.lines);
    expect(first.skipped.length).toBeGreaterThan(0);
  });

  it('picks up a changed upstream among reused ones, and the same name given twice', () => {
    const web = up('web', ep('10.0.0.2', 80), ep('10.0.0.1', 80));
    const api = up('api', ep('10.0.1.1', 8080));
    renderUpstreams([web, api]);
    const web2 = up('web', ep('10.0.0.3', 80));
    const changed = renderUpstreams([web2, api]);
    expect(changed).toEqual(renderUpstreams(copies([web2, api])));
    expect(changed.text).toContain('server 10.0.0.3:80;');
    expect(changed.text).not.toContain('10.0.0.1:80');
    // `web` given twice: the union, from the cached per-object lists.
    const twice = renderUpstreams([web, api, web2]);
    expect(twice).toEqual(renderUpstreams(copies([web, api, web2])));
    expect(twice.text).toContain('  server 10.0.0.1:80;\n  server 10.0.0.2:80;\n  server 10.0.0.3:80;\n');
  });

  it('hands out frozen server lists, so a caller cannot corrupt the next render', () => {
    const web = up('web', ep('10.0.0.1', 80));
    const [normalized] = normalizeUpstreams([web]).upstreams;
    if (normalized === undefined) throw new Error('no upstream');
    expect(Object.isFrozen(normalized.servers)).toBe(true);
    expect(() => (normalized.servers as string[]).push('192.0.2.99:1')).toThrow(TypeError);
    expect(renderUpstreams([web]).text).not.toContain('192.0.2.99');
  });
});
