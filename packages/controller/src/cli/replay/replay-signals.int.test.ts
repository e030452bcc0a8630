/**
 * `ecs-ingress replay --out` stopped by SIGINT/SIGTERM (issue 14): the CLI in a child process reads
 * a FIFO that delivers part of the sample recording and then stays open (a replay that would not
 * end by itself, like `producer | ecs-ingress replay /dev/stdin`); the signal stops it at once with
 * nothing written, and it exits with 128 + the signal's number.
 */
import { execFileSync } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnCli } from '@ecs-ingress/testkit/e2e';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const REPO_ROOT = fileURLToPath(new URL('../../../../../', import.meta.url));
const SAMPLE = join(REPO_ROOT, 'packages/controller/fixtures/sample-recording.jsonl');

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ecs-ingress-replay-signal-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));

describe('replay --out and signals', () => {
  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)(
    '%s stops it: exit %i, nothing written',
    async (signal, expected) => {
      const fifo = join(dir, 'recording.jsonl');
      execFileSync('mkfifo', [fifo]);
      const out = join(dir, 'out');
      const run = spawnCli(['replay', fifo, '--out', out], { killAfterMs: 30_000 });
      try {
        // Opening the writer completes once the replay opened the FIFO for reading, by which time
        // its signal handlers are installed.
        const writer = createWriteStream(fifo);
        await new Promise<void>((res, rej) => {
          writer.once('open', () => res());
          writer.once('error', rej);
        });
        const lines = (await readFile(SAMPLE, 'utf8')).split('\n').slice(0, 20).join('\n');
        await new Promise<void>((res) => writer.write(`${lines}\n`, () => res()));
        run.child.kill(signal);
        // Stopped while the recording is still open: reported at once, nothing written.
        for (let i = 0; i < 200 && !run.stderr().includes('stopped by'); i++) await sleep(50);
        expect(run.stderr()).toContain(`replay: stopped by ${signal}; nothing written`);
        expect(existsSync(join(out, 'upstreams.conf'))).toBe(false);
        // The read the stop interrupted stays parked on the FIFO (a thread-pool read cannot be
        // cancelled); the writer going away, as in a shell pipeline stopped by Ctrl-C, ends it.
        writer.destroy();
        const { code } = await run.exited;
        expect(code, run.stderr()).toBe(expected);
        expect(existsSync(join(out, 'upstreams.conf'))).toBe(false);
      } finally {
        run.child.kill('SIGKILL');
      }
    },
    60_000,
  );
});
