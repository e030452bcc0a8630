/**
 * `replay --nginx` against the real NGINX from the OS packages, on loopback with a temp prefix.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, pidAlive } from '@ecs-ingress/testkit/net';
import { nginxTestConf } from '@ecs-ingress/testkit/nginx';
import { silentLogger } from '@ecs-ingress/types';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultReplayModel } from './default-model.js';
import { replayToNginx } from './replay-to-nginx.js';

const FIXTURES = fileURLToPath(new URL('../../../fixtures/', import.meta.url));
const SAMPLE = join(FIXTURES, 'sample-recording.jsonl');
const GOLDEN = join(FIXTURES, 'sample-recording.upstreams.conf');

function nginxConf(httpPort: number, streamPort: number): string {
  return nginxTestConf({
    modules: ['stream'],
    errorLog: 'stderr warn',
    workerConnections: 64,
    httpIncludes: ['upstreams.conf'],
    http: [
      '  server {',
      `    listen 127.0.0.1:${httpPort};`,
      '    location = /ping { return 200 "pong\\n"; }',
      '    location / { proxy_pass http://web; }',
      '  }',
    ],
    streamIncludes: ['upstreams.conf'],
    stream: `  server { listen 127.0.0.1:${streamPort}; proxy_pass legacy; }`,
  });
}

let dir: string;
let httpPort: number;
const startedPids: number[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ecs-ingress-replay-nginx-'));
  httpPort = await freePort();
  await writeFile(join(dir, 'nginx.conf'), nginxConf(httpPort, await freePort()));
});
afterEach(async () => {
  // Belt and braces: the replay stops NGINX itself; a failed assertion must not leave one running.
  for (const pid of startedPids.splice(0)) if (pidAlive(pid)) process.kill(pid, 'SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

function io() {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return {
    stdout,
    stderr,
    sinks: {
      stdout: (line: string) => {
        stdout.push(line);
        const pid = /nginx started \(pid (\d+)\)/.exec(line)?.[1];
        if (pid !== undefined) startedPids.push(Number(pid));
      },
      stderr: (line: string) => stderr.push(line),
      logger: silentLogger,
    },
  };
}

describe('replay --nginx', () => {
  it('starts NGINX on the first recorded instant, prints each applied change, ends on the final state and stops NGINX', async () => {
    const out = io();
    const code = await replayToNginx(defaultReplayModel, {
      file: SAMPLE,
      nginxConf: join(dir, 'nginx.conf'),
      upstreamsFile: join(dir, 'upstreams.conf'),
      // 250 recorded seconds in about a second; reloads spaced less than the daemon's default.
      speed: 250,
      hold: false,
      debounce: { minMs: 20, maxMs: 100 },
      minReloadIntervalMs: 50,
      ...out.sinks,
    });
    expect(out.stderr).toEqual([]);
    expect(code).toBe(0);
    expect(out.stdout[0]).toMatch(
      /^\[09:00:00Z\] nginx started \(pid \d+\) from the recorded state: 4 upstreams, 8 servers in /,
    );
    const reloads = out.stdout.filter((line) => / reload \d+ ms: /.test(line));
    expect(reloads.length).toBeGreaterThanOrEqual(1);
    // Every change of the story shows up in some reload line, whatever the debounce merged.
    const changes = reloads.join('\n');
    for (const change of [
      /web [^;\n]*\+192\.0\.2\.112:8080/,
      /web [^;\n]*-192\.0\.2\.23:8080/,
      /legacy -192\.0\.2\.21:32769/,
      /api [^;\n]*-192\.0\.2\.18:3000/,
      /api [^;\n]*\+192\.0\.2\.66:3000/,
    ]) {
      expect(changes).toMatch(change);
    }
    expect(out.stdout.at(-2)).toMatch(
      /^replay: 59 lines read, 52 applied, 3 stale\/duplicate, 4 ignored, 0 invalid; 4 upstreams, 7 servers live in /,
    );
    expect(out.stdout.at(-1)).toBe('nginx stopped');
    expect(await readFile(join(dir, 'upstreams.conf'), 'utf8')).toBe(await readFile(GOLDEN, 'utf8'));
    expect(startedPids).toHaveLength(1);
    expect(startedPids.every((pid) => !pidAlive(pid))).toBe(true);
  });

  it('--hold keeps NGINX serving until the signal, then stops it cleanly', async () => {
    const out = io();
    const controller = new AbortController();
    const done = replayToNginx(defaultReplayModel, {
      file: SAMPLE,
      nginxConf: join(dir, 'nginx.conf'),
      upstreamsFile: join(dir, 'upstreams.conf'),
      speed: 'instant',
      hold: true,
      signal: controller.signal,
      ...out.sinks,
    });
    // Bounded wait for the hold message (the replay itself takes well under a second).
    for (let i = 0; i < 300 && !out.stdout.some((line) => line.startsWith('holding:')); i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(out.stdout.some((line) => line.startsWith('holding:'))).toBe(true);
    const response = await fetch(`http://127.0.0.1:${httpPort}/ping`);
    expect(await response.text()).toBe('pong\n');

    controller.abort();
    expect(await done).toBe(0);
    expect(out.stdout.at(-1)).toBe('nginx stopped');
    expect(startedPids.every((pid) => !pidAlive(pid))).toBe(true);
    await expect(fetch(`http://127.0.0.1:${httpPort}/ping`)).rejects.toThrow();
  });

  it('exits 1 and stops when the user config fails nginx -t', async () => {
    await writeFile(
      join(dir, 'nginx.conf'),
      'events {}\nhttp { include upstreams.conf; server { listen 127.0.0.1:1 bogus_option; } }\n',
    );
    const out = io();
    const code = await replayToNginx(defaultReplayModel, {
      file: SAMPLE,
      nginxConf: join(dir, 'nginx.conf'),
      upstreamsFile: join(dir, 'upstreams.conf'),
      speed: 'instant',
      hold: false,
      ...out.sinks,
    });
    expect(code).toBe(1);
    expect(out.stderr.join('\n')).toMatch(/nginx -t/);
    expect(startedPids).toEqual([]);
  });

  it('a file with no valid line (Markdown) exits 2 and never starts NGINX', async () => {
    const notes = join(dir, 'notes.md');
    await writeFile(notes, '# Incident\n\nweb lost two tasks\n');
    const out = io();
    const code = await replayToNginx(defaultReplayModel, {
      file: notes,
      nginxConf: join(dir, 'nginx.conf'),
      upstreamsFile: join(dir, 'upstreams.conf'),
      speed: 'instant',
      hold: false,
      ...out.sinks,
    });
    expect(code).toBe(2);
    expect(out.stderr.at(-1)).toMatch(/notes\.md is not a recording: none of its 2 lines/);
    expect(startedPids).toEqual([]);
    await expect(readFile(join(dir, 'upstreams.conf'), 'utf8')).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('replay --nginx over a previous run', () => {
  it('starts from the last known good file, then still ends on the final state of the new recording', async () => {
    const first = io();
    const options = {
      nginxConf: join(dir, 'nginx.conf'),
      upstreamsFile: join(dir, 'upstreams.conf'),
      speed: 'instant' as const,
      hold: false,
    };
    expect(await replayToNginx(defaultReplayModel, { ...options, file: SAMPLE, ...first.sinks })).toBe(0);
    expect(await readFile(join(dir, 'upstreams.conf'), 'utf8')).toBe(await readFile(GOLDEN, 'utf8'));

    // The recording's first instant only: 4 upstreams, 8 servers (the golden file has 7).
    const opening = join(dir, 'opening.jsonl');
    const lines = (await readFile(SAMPLE, 'utf8')).split('\n').slice(0, 6);
    await writeFile(opening, `${lines.join('\n')}\n`);
    const second = io();
    expect(await replayToNginx(defaultReplayModel, { ...options, file: opening, ...second.sinks })).toBe(0);
    expect(second.stderr).toEqual([]);
    expect(second.stdout[0]).toMatch(/nginx started \(pid \d+\) from the last known good file/);
    expect(second.stdout.at(-2)).toMatch(/; 4 upstreams, 8 servers live in /);
    const written = await readFile(join(dir, 'upstreams.conf'), 'utf8');
    // Placeholder `server 127.0.0.1:80 down;` lines are not servers.
    expect(written.match(/^\s*server [\d.]+:\d+;$/gm)).toHaveLength(8);
    expect(startedPids.every((pid) => !pidAlive(pid))).toBe(true);
  });
});

describe('replay --nginx --local-backends', () => {
  it('serves the sample recording from 127.x stubs only, even over a last known good file with recorded addresses', async () => {
    const options = {
      file: SAMPLE,
      nginxConf: join(dir, 'nginx.conf'),
      upstreamsFile: join(dir, 'upstreams.conf'),
      speed: 'instant' as const,
    };
    // A first replay without stubs leaves a last known good file routing to 192.0.2.x.
    expect(await replayToNginx(defaultReplayModel, { ...options, hold: false, ...io().sinks })).toBe(0);

    const out = io();
    const controller = new AbortController();
    const done = replayToNginx(defaultReplayModel, {
      ...options,
      hold: true,
      localBackends: true,
      signal: controller.signal,
      ...out.sinks,
    });
    for (let i = 0; i < 300 && !out.stdout.some((line) => line.startsWith('holding:')); i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    try {
      expect(out.stdout.some((line) => line.startsWith('holding:'))).toBe(true);
      expect(out.stdout).toContain(
        'local backends: the last known good upstreams file routes to recorded addresses; not used',
      );
      expect(out.stdout.find((line) => line.includes('nginx started'))).toMatch(/from the recorded state/);
      // Every address the sample ever routes to has a stub: web 6, api 3, legacy 3 (two on one instance).
      const mapping = out.stdout.filter((line) => / → 127\./.test(line));
      expect(mapping).toHaveLength(12);
      expect(mapping.every((line) => /^ {2}192\.0\.2\.\d+:\d+ → 127\.\d+\.\d+\.\d+:\d+ \(/.test(line))).toBe(
        true,
      );

      // What NGINX was given: loopback only (the DOWN placeholder is 127.0.0.1:80 too).
      const written = await readFile(join(dir, 'upstreams.conf'), 'utf8');
      const servers = [...written.matchAll(/^\s*server ([\d.]+):\d+/gm)].map((m) => m[1] as string);
      expect(servers.length).toBeGreaterThanOrEqual(8);
      expect(servers.filter((address) => !address.startsWith('127.'))).toEqual([]);
      expect(written).not.toContain('192.0.2.');

      // Requests through NGINX reach the stubs of the final web tasks, and only them.
      const answers = new Set<string>();
      for (let i = 0; i < 9; i++) answers.add(await (await fetch(`http://127.0.0.1:${httpPort}/`)).text());
      expect(answers.size).toBe(3);
      for (const body of answers) expect(body).toMatch(/^web task [0-9a-f]{8} 127\.\d+\.\d+\.\d+:\d+\n$/);
    } finally {
      controller.abort();
    }
    expect(await done).toBe(0);
    expect(out.stdout.at(-1)).toBe('nginx stopped');
    expect(startedPids.every((pid) => !pidAlive(pid))).toBe(true);
  });
});
