/**
 * `ecs-ingress record` while AWS cannot answer (issue 14): it must still end on --duration and on
 * the first SIGTERM, with its summary line and a closed file, and a second signal while it closes
 * must not kill it. The CLI runs as a child process against an ECS endpoint that refuses
 * connections, or the wire fake holding every ECS answer for a minute.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../daemon/test-support.js';
import { freePort } from '../net/free-port.js';
import { type AwsFake, startAwsFake } from '../test-support/aws-fake/index.js';

const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const CLI = join(REPO_ROOT, 'packages/controller/src/cli/main.ts');

let aws: AwsFake;
let dir: string;
beforeAll(async () => {
  aws = await startAwsFake();
});
afterAll(async () => {
  await aws?.close();
});
afterEach(async () => {
  aws.clearFaults();
  await rm(dir, { recursive: true, force: true });
});

interface RecordRun {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Exit code, or the signal's name; SIGKILL after 30 s (the test then fails on the code). */
  readonly exited: Promise<number | string>;
}

function record(args: readonly string[], endpoint: string, cluster: string): RecordRun {
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', CLI, 'record', ...args], {
    cwd: REPO_ROOT,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? '/tmp',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_REGION: 'us-east-1',
      AWS_ENDPOINT_URL_ECS: endpoint,
      AWS_ENDPOINT_URL_EC2: endpoint,
      AWS_CLUSTER_NAME: cluster,
      ECS_INGRESS_QUEUE_MODE: 'none',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
  });
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const exited = new Promise<number | string>((res) => {
    const guard = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.once('exit', (code, signal) => {
      clearTimeout(guard);
      res(code ?? signal ?? -1);
    });
  });
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}

describe('ecs-ingress record while AWS cannot answer', () => {
  it('--duration ends it with the summary and an empty, closed recording (ECS refuses connections)', async () => {
    dir = await mkdtemp(join(tmpdir(), 'ecs-ingress-record-signal-'));
    const out = join(dir, 'rec.jsonl');
    // Nothing listens there: every call fails at once, the first sync never comes.
    const closed = `http://127.0.0.1:${await freePort()}`;
    const run = record(['--out', out, '--duration', '1s'], closed, 'prod');
    const code = await run.exited;
    expect(code, run.stderr().slice(-2000)).toBe(0);
    expect(run.stdout()).toMatch(/^recorded 0 lines to .*: 0 queue messages, 0 snapshots, .*\(duration\)\n$/);
    expect(run.stderr()).toContain('no full sync was recorded');
    expect(await readFile(out, 'utf8')).toBe('');
  }, 60_000);

  it('the first SIGTERM ends it while ECS hangs; a second one while it closes does not kill it', async () => {
    dir = await mkdtemp(join(tmpdir(), 'ecs-ingress-record-signal-'));
    const out = join(dir, 'rec.jsonl');
    const cluster = `hang-${randomUUID().slice(0, 8)}`;
    aws.ecs.addCluster(cluster);
    aws.resetCalls();
    // Every ECS answer takes a minute: far beyond the test's patience.
    aws.inject({ service: 'ecs', kind: 'delay', delayMs: 60_000 });
    const run = record(['--out', out], aws.url, cluster);
    await eventually('record to call ECS', () => (aws.requests('ecs').length > 0 ? true : undefined), {
      rounds: 400,
      intervalMs: 50,
    });
    run.child.kill('SIGTERM');
    // The second once the first is being handled (two pending SIGTERMs would merge into one).
    await eventually('the first signal to be handled', () =>
      run.stderr().includes('stopping the recording') ? true : undefined,
    );
    run.child.kill('SIGTERM');
    const code = await run.exited;
    expect(code, run.stderr().slice(-2000)).toBe(0);
    expect(run.stdout()).toMatch(/^recorded 0 lines to .*: 0 queue messages, 0 snapshots, .*\(stopped\)\n$/);
    expect(await readFile(out, 'utf8')).toBe('');
  }, 60_000);
});
