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
import { instanceResourceName } from '@ecs-ingress/sources';
import { type AwsFake, type FauxqsHarness, startAwsFake, startFauxqsServer } from '@ecs-ingress/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../daemon/test-support.js';
import { freePort } from '../net/free-port.js';

const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const CLI = join(REPO_ROOT, 'packages/controller/src/cli/main.ts');

let aws: AwsFake;
let fq: FauxqsHarness;
let dir: string;
beforeAll(async () => {
  [aws, fq] = await Promise.all([startAwsFake(), startFauxqsServer()]);
});
afterAll(async () => {
  await Promise.all([aws?.close(), fq?.close()]);
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

function record(
  args: readonly string[],
  endpoint: string,
  cluster: string,
  extra: Record<string, string> = {},
): RecordRun {
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
      ...extra,
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
    const instanceId = `host-${randomUUID().slice(0, 8)}`;
    aws.ecs.addCluster(cluster);
    aws.resetCalls();
    // Listing takes a minute (far beyond the test's patience); removing the recording's rule at
    // the end takes 3 s, a window for the second signal.
    aws.inject({ service: 'ecs', operation: 'ListTasks', kind: 'delay', delayMs: 60_000 });
    const run = record(['--out', out], aws.url, cluster, {
      AWS_ENDPOINT_URL_EVENTBRIDGE: aws.url,
      AWS_ENDPOINT_URL_SQS: fq.endpoint,
      ECS_INGRESS_QUEUE_MODE: 'per-instance',
      ECS_INGRESS_INSTANCE_ID: instanceId,
    });
    await eventually(
      'record to list the cluster',
      () => (aws.requests('ecs', 'ListTasks').length > 0 ? true : undefined),
      { rounds: 400, intervalMs: 50 },
    );
    // The queue set-up is done (the listing starts after it): now slow down the teardown's first call.
    aws.inject({
      service: 'events',
      operation: 'ListTargetsByRule',
      kind: 'delay',
      delayMs: 3_000,
      times: 1,
    });
    run.child.kill('SIGTERM');
    await eventually(
      'the teardown to be under way',
      () => (aws.requests('events', 'ListTargetsByRule').some((r) => r.fault === 'delay') ? true : undefined),
      { rounds: 200, intervalMs: 25 },
    );
    run.child.kill('SIGTERM');
    const code = await run.exited;
    expect(code, run.stderr().slice(-2000)).toBe(0);
    expect(run.stderr()).toContain('already stopping the recording');
    expect(run.stdout()).toMatch(/^recorded 0 lines to .*: 0 queue messages, 0 snapshots, .*\(stopped\)\n$/);
    expect(await readFile(out, 'utf8')).toBe('');
    // Its queue and rule are gone.
    const name = instanceResourceName('ecs-ingress-', cluster, `${instanceId}-record`);
    expect(aws.events.rule(name)).toBeUndefined();
    expect(fq.server.inspectQueue(name)).toBeUndefined();
  }, 60_000);
});
