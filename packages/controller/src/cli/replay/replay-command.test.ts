import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli } from '@ecs-ingress/testkit/e2e';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { abortOnSignals, type ReplayCommandOptions, runReplayCommand } from '../commands/replay.js';

const FIXTURES = fileURLToPath(new URL('../../../fixtures/', import.meta.url));
const SAMPLE = join(FIXTURES, 'sample-recording.jsonl');
const GOLDEN = join(FIXTURES, 'sample-recording.upstreams.conf');

/** The sample's story, counted (see fixtures/generate-sample-recording.ts). */
const SAMPLE_COUNTS =
  '59 lines read, 52 applied, 3 stale/duplicate, 4 ignored, 0 invalid; 4 upstreams, 7 servers written to';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ecs-ingress-replay-test-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function replay(file: string, options: ReplayCommandOptions) {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const code = await runReplayCommand(file, options, {
    stdout: (line) => stdout.push(line),
    stderr: (line) => stderr.push(line),
  });
  return { code, stdout, stderr };
}

/** The sample with junk spliced in, so bad lines sit at known line numbers. */
async function sampleWithJunk(): Promise<string> {
  const lines = (await readFile(SAMPLE, 'utf8')).trimEnd().split('\n');
  lines.splice(2, 0, '{"source": "aws.ecs", "detail-type": ');
  lines.splice(9, 0, '');
  lines.splice(
    10,
    0,
    '{"source":"aws.ecs","detail-type":"ECS Task State Change","time":"2024-05-14T09:00:20Z","detail":{"clusterArn":"x"}}',
  );
  const path = join(dir, 'junk.jsonl');
  await writeFile(path, `${lines.join('\n')}\n`);
  return path;
}

describe('replay --out', () => {
  it('replays the sample recording into the golden upstreams.conf, with the expected summary', async () => {
    const out = join(dir, 'nested', 'out');
    const result = await replay(SAMPLE, { out });
    expect(result.stderr).toEqual([]);
    expect(result.code).toBe(0);
    expect(result.stdout).toEqual([`replay: ${SAMPLE_COUNTS} ${join(out, 'upstreams.conf')}`]);
    expect(await readFile(join(out, 'upstreams.conf'), 'utf8')).toBe(await readFile(GOLDEN, 'utf8'));
  });

  it('is deterministic: a second replay writes the same bytes', async () => {
    await replay(SAMPLE, { out: join(dir, 'a') });
    await replay(SAMPLE, { out: join(dir, 'b') });
    expect(await readFile(join(dir, 'a', 'upstreams.conf'), 'utf8')).toBe(
      await readFile(join(dir, 'b', 'upstreams.conf'), 'utf8'),
    );
  });

  it('reports each malformed line on stderr with its number and reason, goes on, and exits 0', async () => {
    const result = await replay(await sampleWithJunk(), { out: dir });
    expect(result.code).toBe(0);
    expect(result.stderr).toHaveLength(2);
    expect(result.stderr[0]).toMatch(/^line 3: invalid \(not-json\): /);
    expect(result.stderr[1]).toMatch(/^line 11: invalid \(missing-field:detail\.taskArn\): /);
    expect(result.stdout.at(-1)).toMatch(
      /^replay: 61 lines read, 52 applied, 3 stale\/duplicate, 4 ignored, 2 invalid; 4 upstreams, 7 servers written to /,
    );
    // The good lines around the junk still produced the full result.
    expect(await readFile(join(dir, 'upstreams.conf'), 'utf8')).toBe(await readFile(GOLDEN, 'utf8'));
  });

  it('with --strict exits 1 on a malformed line and writes nothing', async () => {
    const result = await replay(await sampleWithJunk(), { out: dir, strict: true });
    expect(result.code).toBe(1);
    expect(result.stderr).toHaveLength(2);
    expect(result.stdout.at(-1)).toMatch(/2 invalid; --strict: nothing written$/);
    await expect(stat(join(dir, 'upstreams.conf'))).rejects.toThrow(/ENOENT/);
  });

  it('with --strict exits 0 on a clean recording', async () => {
    expect((await replay(SAMPLE, { out: dir, strict: true })).code).toBe(0);
  });

  it.each([
    ['the cluster name', 'shop'],
    ['the cluster ARN', 'arn:aws:ecs:us-east-1:111122223333:cluster/shop'],
  ])('--cluster with %s keeps the whole sample', async (_name, cluster) => {
    const result = await replay(SAMPLE, { out: dir, cluster });
    expect(result.stdout.at(-1)).toContain(SAMPLE_COUNTS);
    expect(await readFile(join(dir, 'upstreams.conf'), 'utf8')).toBe(await readFile(GOLDEN, 'utf8'));
  });

  it('--cluster with another cluster keeps only the lines without a cluster', async () => {
    const result = await replay(SAMPLE, { out: dir, cluster: 'staging' });
    expect(result.code).toBe(0);
    // Lines naming no cluster pass: 7 task definitions / container instances (applied) and the
    // 2 Deployment State Change events (their detail has no clusterArn; ignored by the store).
    expect(result.stdout.at(-1)).toMatch(
      /^replay: 59 lines read, 7 applied, 0 stale\/duplicate, 52 ignored \(50 other cluster\), 0 invalid; 0 upstreams, 0 servers written to /,
    );
  });
});

describe('replay usage errors (exit 2)', () => {
  it.each<[string, ReplayCommandOptions, RegExp]>([
    ['neither mode', {}, /exactly one of --out <dir> \(offline\) or --nginx/],
    ['both modes', { out: 'x', nginx: 'y' }, /exactly one of/],
    [
      'a live-only flag with --out',
      { out: 'x', speed: 2, hold: true },
      /--speed, --hold only applies with --nginx/,
    ],
  ])('%s', async (_name, options, message) => {
    const result = await replay(SAMPLE, options);
    expect(result.code).toBe(2);
    expect(result.stderr.join('\n')).toMatch(message);
  });

  it('a missing recording', async () => {
    const result = await replay(join(dir, 'missing.jsonl'), { out: dir });
    expect(result.code).toBe(2);
    expect(result.stderr.join('\n')).toMatch(
      /cannot read the recording: .*missing\.jsonl does not exist \(ENOENT\)/,
    );
  });
});

describe('replay: input that is not a recording, and paths of the wrong kind', () => {
  async function expectNothingWritten(out: string) {
    await expect(stat(join(out, 'upstreams.conf'))).rejects.toMatchObject({ code: 'ENOENT' });
  }

  it('a binary file fails (exit 2, "looks like a binary file"), reports a bounded number of lines, writes nothing', async () => {
    const file = join(dir, 'image.png');
    const bytes = Buffer.alloc(64 * 1024);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 131 + 7) % 256;
    await writeFile(file, bytes);
    const out = join(dir, 'out');
    const result = await replay(file, { out });
    expect(result.code).toBe(2);
    expect(result.stderr.at(-1)).toMatch(
      /image\.png is not a recording \(it looks like a binary file\): none of its \d+ lines/,
    );
    expect(result.stderr.length).toBeLessThanOrEqual(102);
    const text = result.stderr.join('\n');
    expect([...text].filter((c) => c.charCodeAt(0) < 0x20 && c !== '\n')).toEqual([]);
    await expectNothingWritten(out);
  });

  it('a Markdown file fails (exit 2, not a recording) and writes nothing', async () => {
    const file = join(dir, 'README.md');
    await writeFile(file, '# Incident notes\n\nThe web service lost two tasks at 09:00.\n\n- step one\n');
    const out = join(dir, 'out');
    const result = await replay(file, { out });
    expect(result.code).toBe(2);
    expect(result.stderr.at(-1)).toBe(
      `ecs-ingress replay: ${file} is not a recording: none of its 3 lines is an ECS event or an ecs-ingress observation (JSONL, one object per line; see replay --help) [ECS_INGRESS_REPLAY_INPUT_INVALID]`,
    );
    await expectNothingWritten(out);
  });

  it('an empty file fails (exit 2)', async () => {
    const file = join(dir, 'empty.jsonl');
    await writeFile(file, '\n\n');
    const result = await replay(file, { out: join(dir, 'out') });
    expect(result.code).toBe(2);
    expect(result.stderr.join('\n')).toMatch(/empty\.jsonl is empty: nothing to replay/);
  });

  it('a recording that is a directory names it (not a raw EISDIR)', async () => {
    const result = await replay(dir, { out: join(dir, 'out') });
    expect(result.code).toBe(2);
    expect(result.stderr).toEqual([
      `ecs-ingress replay: the recording ${dir} is a directory, not a JSONL file [ECS_INGRESS_REPLAY_INPUT_INVALID]`,
    ]);
  });

  it('--out naming a file names it (not a raw EEXIST)', async () => {
    const file = join(dir, 'a-file');
    await writeFile(file, 'x');
    const result = await replay(SAMPLE, { out: file });
    expect(result.code).toBe(2);
    expect(result.stderr.join('\n')).toMatch(/--out .*a-file: exists and is not a directory/);
  });

  it('--out whose upstreams.conf is a directory names that path (not a raw EISDIR)', async () => {
    const out = join(dir, 'out');
    await mkdir(join(out, 'upstreams.conf'), { recursive: true });
    const result = await replay(SAMPLE, { out });
    expect(result.code).toBe(2);
    expect(result.stderr.join('\n')).toContain(`${join(out, 'upstreams.conf')} is a directory`);
  });
});

describe('the ecs-ingress CLI', () => {
  const node = (args: string[]) => runCli(args);

  it('replay --help describes every flag', async () => {
    const result = await node(['replay', '--help']);
    expect(result.code).toBe(0);
    for (const flag of [
      '--out',
      '--nginx',
      '--upstreams-file',
      '--speed',
      '--instant',
      '--hold',
      '--cluster',
      '--strict',
    ]) {
      expect(result.stdout).toContain(flag);
    }
  });

  it('replay --out --strict: stderr names the bad line, stdout ends with the summary, exit 1', async () => {
    const result = await node(['replay', await sampleWithJunk(), '--out', dir, '--strict']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^line 3: invalid \(not-json\)/m);
    expect(result.stdout.trimEnd().split('\n').at(-1)).toMatch(
      /^replay: 61 lines read, .* 2 invalid; --strict: nothing written$/,
    );
  });

  it('rejects a bad --speed before doing anything', async () => {
    const result = await node(['replay', SAMPLE, '--nginx', 'nginx.conf', '--speed', '0']);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/--speed must be a positive number/);
  });
});

describe('replay signal handling', () => {
  it('aborts on the first signal and keeps catching later ones until disposed', () => {
    // A custom signal name keeps the test clear of the runner's own SIGINT/SIGTERM handling.
    const before = process.listenerCount('SIGUSR2');
    const lines: string[] = [];
    const stops = abortOnSignals((line) => lines.push(line), ['SIGUSR2']);
    try {
      process.emit('SIGUSR2', 'SIGUSR2');
      expect(stops.signal.aborted).toBe(true);
      // Still ours: with no listener left, a second signal would kill the process and orphan NGINX.
      expect(process.listenerCount('SIGUSR2')).toBe(before + 1);
      process.emit('SIGUSR2', 'SIGUSR2');
      expect(lines).toEqual(['ecs-ingress replay: SIGUSR2 again; already stopping']);
    } finally {
      stops.dispose();
    }
    expect(process.listenerCount('SIGUSR2')).toBe(before);
  });
});
