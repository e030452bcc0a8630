import { createHash } from 'node:crypto';
import { ep, expectGolden, recordingLogger, renderCases, shuffled, up, xorshift } from '@ecs-ingress/testkit';
import { describe, expect, it } from 'vitest';
import { readRenderedHash } from './hash.js';
import { DOWN_PLACEHOLDER_SERVER, renderUpstreams } from './render-upstreams.js';

describe('renderUpstreams golden files', () => {
  it.each(renderCases)('$file', ({ file, upstreams }) => {
    expectGolden(`${file}.conf`, renderUpstreams(upstreams).text);
  });
});

describe('renderUpstreams', () => {
  it('writes the hash of the body in the first line and in `hash`', () => {
    const result = renderUpstreams([up('web', ep('10.0.0.1', 80))]);
    const [first, ...rest] = result.text.split('\n');
    const body = rest.join('\n');
    expect(first).toBe(`# ecs-ingress upstreams sha256:${result.hash}`);
    expect(result.hash).toBe(createHash('sha256').update(body).digest('hex'));
    expect(readRenderedHash(result.text)).toBe(result.hash);
    expect(readRenderedHash(result.text.replace('10.0.0.1', '10.0.0.2'))).toBeUndefined();
    expect(readRenderedHash(body)).toBeUndefined();
  });

  it('gives different hashes for different content', () => {
    const a = renderUpstreams([up('web', ep('10.0.0.1', 80))]);
    const b = renderUpstreams([up('web', ep('10.0.0.1', 81))]);
    expect(a.hash).not.toBe(b.hash);
  });

  it('renders the DOWN placeholder for a service without servers', () => {
    const result = renderUpstreams([up('web')]);
    expect(result.text).toContain(`upstream web {\n  ${DOWN_PLACEHOLDER_SERVER}\n}\n`);
    expect(result.serverCount).toBe(0);
    expect(result.upstreamCount).toBe(1);
  });

  it('counts upstreams and distinct real servers', () => {
    const result = renderUpstreams([
      up('a', ep('10.0.0.1', 80), ep('10.0.0.1', 80), ep('10.0.0.2', 80)),
      up('b'),
      up('c d', ep('10.0.0.3', 80)),
    ]);
    expect(result).toMatchObject({ upstreamCount: 2, serverCount: 2 });
    expect(result.skipped).toHaveLength(1);
  });

  it('is byte-identical for shuffled input (upstream order, server order, duplicates)', () => {
    const upstreams = renderCases.flatMap((c) => c.upstreams);
    const expected = renderUpstreams(upstreams);
    const random = xorshift(42);
    for (let round = 0; round < 25; round++) {
      const input = shuffled(upstreams, random).map((u) => up(u.name, ...shuffled(u.servers, random)));
      const result = renderUpstreams(input);
      expect(result.text).toBe(expected.text);
      expect(result.hash).toBe(expected.hash);
    }
  });

  it('never writes an unsafe name or an invalid server, and logs each skip once', () => {
    const logger = recordingLogger();
    const unsafe = renderCases.find((c) => c.file === 'unsafe-names')?.upstreams ?? [];
    const invalid = renderCases.find((c) => c.file === 'invalid-servers')?.upstreams ?? [];
    const result = renderUpstreams([...unsafe, ...unsafe, ...invalid], { logger });
    for (const bad of ['a b', 'x;}', '$foo', 'evil{', 'include', '::1', '10.0.0.256', ':0;', ':65536']) {
      expect(result.text).not.toContain(bad);
    }
    // 14 unsafe names (each once although given twice) + 11 bad servers of `web` + 1 of `all-invalid`.
    expect(result.skipped).toHaveLength(26);
    expect(logger.lines.filter((l) => l.level === 'warn')).toHaveLength(26);
    expect(result.skipped).toContainEqual({
      name: 'x;}',
      reason: expect.stringContaining('unsafe upstream name'),
    });
    expect(result.skipped).toContainEqual({
      name: 'web',
      reason: expect.stringContaining('invalid server address "10.0.0.1; include /etc/passwd"'),
    });
    expect(result.skipped).toContainEqual({
      name: 'web',
      reason: expect.stringContaining('invalid server port 0'),
    });
  });

  it('keeps one of two names equal ignoring case (NGINX upstream names are case-insensitive)', () => {
    const result = renderUpstreams([up('web', ep('10.0.0.2', 80)), up('Web', ep('10.0.0.1', 80))]);
    expect(result.text).toContain('upstream Web {');
    expect(result.text).not.toContain('upstream web {');
    expect(result.skipped).toEqual([{ name: 'web', reason: expect.stringContaining('ignoring case') }]);
  });
});
