import { ep, renderCases, up } from '@ecs-ingress/testkit';
import { hasNginx, nginxTest, type TempPrefix, tempPrefix } from '@ecs-ingress/testkit/nginx';
import { afterAll, describe, expect, it } from 'vitest';
import { renderUpstreams } from './render-upstreams.js';

if (!hasNginx)
  console.warn('SKIPPED: /usr/sbin/nginx is absent, the nginx -t tests of upstreams.conf do not run');

const prefixes: TempPrefix[] = [];
afterAll(() => {
  for (const prefix of prefixes) prefix.dispose();
});

/**
 * The same file included in `http` and in `stream`, as the user's nginx.conf does, with a
 * `proxy_pass` to every upstream in http and to the first one in stream (listen ports are never
 * bound by `nginx -t`).
 */
function checkBothContexts(upstreamsText: string, names: readonly string[]): { ok: boolean; output: string } {
  const prefix = tempPrefix('static');
  prefixes.push(prefix);
  const upstreamsPath = prefix.write('upstreams.conf', upstreamsText);
  const locations = names
    .map((name) => `    location = /u/${name} { proxy_pass http://${name}; }`)
    .join('\n');
  const first = names[0];
  const conf = prefix.conf({
    modules: ['stream'],
    workerConnections: 64,
    httpIncludes: [upstreamsPath],
    http: ['  server {', '    listen 127.0.0.1:18080;', locations, '  }'],
    streamIncludes: [upstreamsPath],
    stream: first === undefined ? [] : [`  server { listen 127.0.0.1:18081; proxy_pass ${first}; }`],
  });
  return nginxTest(prefix.dir, prefix.write('nginx.conf', conf));
}

function upstreamNames(text: string): string[] {
  return [...text.matchAll(/^upstream (\S+) \{$/gm)].map((m) => m[1] ?? '');
}

const big = Array.from({ length: 300 }, (_, i) =>
  up(
    `service-${i}`,
    ...Array.from({ length: i % 7 }, (_, j) => ep(`10.${i % 256}.${j}.${(i * 7 + j) % 256}`, 1024 + j)),
  ),
);

describe.skipIf(!hasNginx)('upstreams.conf passes nginx -t in http and stream', () => {
  it.each([...renderCases, { file: 'big (300 services)', upstreams: big }])('$file', ({ upstreams }) => {
    const { text } = renderUpstreams(upstreams);
    const names = upstreamNames(text);
    const result = checkBothContexts(text, names);
    expect(result.output).toContain('test is successful');
    expect(result.ok).toBe(true);
  });

  // Proof that the check can fail: what the renderer refuses to write, written by hand.
  it.each([
    ['an unsafe name with a space', 'upstream a b {\n  server 10.0.0.1:80;\n}\n', ['a']],
    ['a name that closes the block', 'upstream x;} {\n  server 10.0.0.1:80;\n}\n', []],
    [
      'two names equal ignoring case',
      'upstream Web {\n  server 10.0.0.1:80;\n}\nupstream web {\n  server 10.0.0.2:80;\n}\n',
      ['Web'],
    ],
    [
      'an injected directive in the address',
      'upstream web {\n  server 10.0.0.1:80; include /nonexistent/x;\n}\n',
      ['web'],
    ],
    ['an upstream without servers', 'upstream web {\n}\n', ['web']],
    ['a server without a port in stream', 'upstream web {\n  server 10.0.0.1;\n}\n', ['web']],
  ])('rejects %s', (_title, text, names) => {
    const result = checkBothContexts(text, names);
    expect(result.ok).toBe(false);
    expect(result.output).toMatch(/emerg|test failed/);
  });
});
