/**
 * The CLI as a user runs it (a child process through tsx): `--version`, and the one exit-code
 * scheme on every command — 0 done, 1 runtime failure, 2 usage or configuration (commander's own
 * errors included). Start-up errors of `run` are in daemon/startup-errors.int.test.ts.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const MAIN = join(REPO_ROOT, 'packages/controller/src/cli/main.ts');
const SAMPLE = join(REPO_ROOT, 'packages/controller/fixtures/sample-recording.jsonl');
/** tsx by its URL: the CLI runs in a temp directory, where `--import tsx` would not resolve. */
const TSX = import.meta.resolve('tsx');

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ecs-ingress-cli-'));
  await writeFile(join(dir, 'junk.jsonl'), `${(await readFile(SAMPLE, 'utf8')).trimEnd()}\n{"not": json\n`);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A minimal environment: no AWS credentials or region from the machine, never the metadata service. */
const BASE_ENV = {
  PATH: process.env.PATH ?? '/usr/bin:/bin',
  AWS_EC2_METADATA_DISABLED: 'true',
  AWS_CONFIG_FILE: '/nonexistent/aws-config',
  AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/aws-credentials',
};

async function cli(args: readonly string[], env: Record<string, string> = {}) {
  const result = await execa(process.execPath, ['--conditions=source', '--import', TSX, MAIN, ...args], {
    cwd: dir,
    env: { ...BASE_ENV, HOME: dir, ...env },
    extendEnv: false,
    reject: false,
    timeout: 60_000,
  });
  return { code: result.exitCode, stdout: String(result.stdout), stderr: String(result.stderr) };
}

/** An endpoint that refuses connections at once (nothing listens on port 1). */
const DEAD_AWS = {
  AWS_REGION: 'us-east-1',
  AWS_ENDPOINT_URL: 'http://127.0.0.1:1',
  AWS_ACCESS_KEY_ID: 'test',
  AWS_SECRET_ACCESS_KEY: 'test',
  AWS_MAX_ATTEMPTS: '1',
};

describe('ecs-ingress CLI', () => {
  it.each([['--version'], ['-V']])('%s prints the package version and exits 0', async (flag) => {
    const pkg = JSON.parse(await readFile(join(REPO_ROOT, 'packages/controller/package.json'), 'utf8')) as {
      version: string;
      bin: Record<string, string>;
    };
    const { code, stdout } = await cli([flag]);
    expect(code).toBe(0);
    expect(stdout.trim()).toBe(pkg.version);
    // The installable entry point is the built CLI.
    expect(pkg.bin['ecs-ingress']).toBe('./dist/cli/main.js');
  });

  it('--help documents the exit codes and exits 0', async () => {
    const { code, stdout } = await cli(['--help']);
    expect(code).toBe(0);
    expect(stdout).toMatch(
      /Exit codes \(every command\):\n {2}0 {2}done.*\n {2}1 {2}runtime failure.*\n {2}2 {2}usage or configuration/,
    );
  });

  // [what, exit code, args, env, stderr pattern]
  it.each<[string, 0 | 1 | 2, string[], Record<string, string>, RegExp]>([
    ['no command', 2, [], {}, /Usage: ecs-ingress/],
    ['an unknown command', 2, ['nosuch'], {}, /unknown command 'nosuch'/],
    ['run: an unknown option', 2, ['run', '--bogus'], {}, /unknown option '--bogus'/],
    [
      'run: an invalid variable',
      2,
      ['run'],
      { ...DEAD_AWS, ECS_INGRESS_HTTP_PORT: 'eighty' },
      /ecs-ingress run: invalid configuration:\n {2}- ECS_INGRESS_HTTP_PORT: must be a TCP port/,
    ],
    ['run: no region', 2, ['run'], {}, /AWS_REGION: is not set/],
    ['replay: no file', 2, ['replay'], {}, /missing required argument 'file'/],
    ['replay: no mode', 2, ['replay', SAMPLE], {}, /give exactly one of --out <dir>/],
    [
      'replay: a bad --speed',
      2,
      ['replay', SAMPLE, '--nginx', 'x.conf', '--speed', '0'],
      {},
      /--speed must be a positive number/,
    ],
    [
      'replay: a missing recording',
      2,
      ['replay', 'missing.jsonl', '--out', 'out'],
      {},
      /missing\.jsonl does not exist \(ENOENT\)/,
    ],
    [
      'replay: --strict meets an invalid line',
      1,
      ['replay', 'junk.jsonl', '--out', 'out', '--strict'],
      {},
      /line 60: invalid \(not-json\)/,
    ],
    ['record: no --out', 2, ['record'], {}, /required option '--out <file>' not specified/],
    [
      'record: a bad --duration',
      2,
      ['record', '--out', 'r.jsonl', '--duration', 'soon'],
      {},
      /expected a duration/,
    ],
    [
      'record: an invalid variable',
      2,
      ['record', '--out', 'r.jsonl'],
      { ...DEAD_AWS, ECS_INGRESS_QUEUE_MODE: 'sometimes' },
      /ECS_INGRESS_QUEUE_MODE/,
    ],
    [
      'demo: a missing NGINX binary',
      2,
      ['demo', '--nginx-binary', '/nonexistent/nginx', '--admin-port', '0'],
      {},
      /--nginx-binary: the NGINX executable \/nonexistent\/nginx does not exist \(ENOENT\)/,
    ],
    [
      'replay --nginx: a missing NGINX binary',
      2,
      ['replay', SAMPLE, '--nginx', 'nginx.conf', '--nginx-binary', '/nonexistent/nginx'],
      {},
      /--nginx-binary: the NGINX executable \/nonexistent\/nginx does not exist \(ENOENT\)/,
    ],
    ['demo: a bad --port', 2, ['demo', '--port', '0'], {}, /must be a port, 1\.\.65535/],
    ['demo: a bad --mode', 2, ['demo', '--mode', 'fast'], {}, /must be reload, dynamic or auto/],
    [
      'bootstrap: a bad --max-age',
      2,
      ['bootstrap', '--reap', '--max-age', 'old'],
      DEAD_AWS,
      /--max-age: expected a duration/,
    ],
    [
      'bootstrap: AWS unreachable',
      1,
      ['bootstrap', '--cluster', 'prod', '--instance-id', 'i-1'],
      DEAD_AWS,
      /ecs-ingress bootstrap: /,
    ],
    ['teardown: an unknown option', 2, ['teardown', '--force'], {}, /unknown option '--force'/],
    [
      'teardown: AWS unreachable',
      1,
      ['teardown', '--cluster', 'prod', '--instance-id', 'i-1'],
      DEAD_AWS,
      /ecs-ingress teardown: /,
    ],
  ])('%s → exit %i', async (_what, code, args, env, stderr) => {
    const result = await cli(args, env);
    expect(result.stderr).toMatch(stderr);
    expect(result.code).toBe(code);
  });

  it('replay --out with a relative path writes under the working directory → exit 0', async () => {
    const { code, stdout } = await cli(['replay', SAMPLE, '--out', 'relative-out']);
    expect(code).toBe(0);
    expect(stdout).toContain(join(dir, 'relative-out', 'upstreams.conf'));
    expect(await readFile(join(dir, 'relative-out', 'upstreams.conf'), 'utf8')).toContain('upstream web');
  });

  it('through `pnpm ecs-ingress` from another directory, relative paths are the user’s (INIT_CWD)', async () => {
    const result = await execa(
      'pnpm',
      ['-s', '-C', REPO_ROOT, 'ecs-ingress', 'replay', SAMPLE, '--out', 'via-pnpm'],
      {
        cwd: dir,
        reject: false,
        timeout: 60_000,
      },
    );
    expect(result.exitCode).toBe(0);
    expect(await readFile(join(dir, 'via-pnpm', 'upstreams.conf'), 'utf8')).toContain('upstream web');
  });
});
