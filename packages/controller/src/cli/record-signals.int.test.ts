/**
 * `ecs-ingress record` while AWS cannot answer (issue 14): it must still end on --duration and on
 * the first SIGTERM, with its summary line and a closed file, and a second signal while it closes
 * must not kill it. The CLI runs as a child process against an ECS endpoint that refuses
 * connections, or the wire fake holding every ECS answer for a minute.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { instanceResourceName } from '@ecs-ingress/sources';
import { type AwsFake, type FauxqsHarness, startAwsFake, startFauxqsServer } from '@ecs-ingress/testkit/aws';
import { type CliProcess, spawnCli } from '@ecs-ingress/testkit/e2e';
import { eventually, freePort } from '@ecs-ingress/testkit/net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

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

/** `ecs-ingress record <args>` against `endpoint` for ECS and EC2; SIGKILL after 30 s (the test then fails on the exit). */
function record(
  args: readonly string[],
  endpoint: string,
  cluster: string,
  extra: Record<string, string> = {},
): CliProcess {
  return spawnCli(['record', ...args], {
    env: {
      AWS_REGION: 'us-east-1',
      AWS_ENDPOINT_URL_ECS: endpoint,
      AWS_ENDPOINT_URL_EC2: endpoint,
      AWS_CLUSTER_NAME: cluster,
      ECS_INGRESS_QUEUE_MODE: 'none',
      ...extra,
    },
    killAfterMs: 30_000,
  });
}

describe('ecs-ingress record while AWS cannot answer', () => {
  it('--duration ends it with the summary and an empty, closed recording (ECS refuses connections)', async () => {
    dir = await mkdtemp(join(tmpdir(), 'ecs-ingress-record-signal-'));
    const out = join(dir, 'rec.jsonl');
    // Nothing listens there: every call fails at once, the first sync never comes.
    const closed = `http://127.0.0.1:${await freePort()}`;
    const run = record(['--out', out, '--duration', '1s'], closed, 'prod');
    const { code } = await run.exited;
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
    const { code } = await run.exited;
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
