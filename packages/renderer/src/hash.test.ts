import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { readRenderedHash, withHashHeader } from './hash.js';

describe('withHashHeader', () => {
  it.each([
    ['ASCII', 'upstream web {\n  server 127.0.0.1:80;\n}\n'],
    ['non-ASCII (UTF-8 differs from Latin-1)', '# café ✓ 𝄞\nupstream web {\n}\n'],
    ['empty', ''],
  ])('hashes the UTF-8 bytes of the body: %s', (_, body) => {
    const { text, hash } = withHashHeader('upstreams', body);
    expect(hash).toBe(createHash('sha256').update(Buffer.from(body, 'utf8')).digest('hex'));
    expect(readRenderedHash(text)).toBe(hash);
    expect(readRenderedHash(`${text}x`)).toBeUndefined();
  });
});
