import { fileURLToPath } from 'node:url';
import { ECSClient } from '@aws-sdk/client-ecs';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SQSClient } from '@aws-sdk/client-sqs';
import { ensureInstanceQueue } from '@ecs-ingress/sources';
import { type AwsFake, type FauxqsHarness, startAwsFake, startFauxqsServer } from '@ecs-ingress/testkit/aws';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BootstrapOptions, runBootstrap } from './bootstrap.js';
import type { ProvisioningCommandClients } from './provisioning-support.js';
import { runTeardown } from './teardown.js';

const MAIN = fileURLToPath(new URL('../main.ts', import.meta.url));
const PACKAGE_DIR = fileURLToPath(new URL('../../..', import.meta.url));

let fq: FauxqsHarness;
let fake: AwsFake;
let clients: ProvisioningCommandClients;
let eventBridge: EventBridgeClient;
let clusterArn: string;

beforeAll(async () => {
  [fq, fake] = await Promise.all([startFauxqsServer(), startAwsFake()]);
  clusterArn = fake.ecs.addCluster('prod').clusterArn!;
  eventBridge = new EventBridgeClient({ ...fake.clientConfig(), maxAttempts: 1 });
  clients = {
    sqs: new SQSClient({ ...fq.sqsConfig(), maxAttempts: 1 }),
    events: async () => eventBridge,
    ecs: new ECSClient({ ...fake.clientConfig(), maxAttempts: 1 }),
  };
});
afterAll(async () => {
  clients.sqs.destroy();
  eventBridge.destroy();
  clients.ecs.destroy();
  await Promise.all([fq.close(), fake.close()]);
});

const base = (prefix: string, overrides: Partial<BootstrapOptions> = {}): BootstrapOptions => ({
  cluster: 'prod',
  instanceId: 'i-0123',
  prefix,
  maxAge: '1h',
  ...overrides,
});

describe('bootstrap / teardown in-process', () => {
  it('bootstrap resolves the cluster name, creates, prints one line each; teardown removes', async () => {
    const lines: string[] = [];
    const result = await runBootstrap(base('cli1-'), clients, (l) => lines.push(l));
    expect(result.clusterArn).toBe(clusterArn);
    expect(fake.calls('ecs', 'DescribeClusters')).toBeGreaterThanOrEqual(1);
    const name = 'cli1-prod-i-0123';
    expect(lines).toEqual([
      `created rule ${name} ${result.ruleArn}`,
      `created queue ${name} ${result.queueUrl}`,
      `created target ecs-ingress-queue ${result.queueArn}`,
      `queue-url ${result.queueUrl}`,
    ]);

    const again: string[] = [];
    await runBootstrap(base('cli1-'), clients, (l) => again.push(l));
    expect(again.slice(0, 3).map((l) => l.split(' ').slice(0, 2).join(' '))).toEqual([
      'updated rule',
      'updated queue',
      'unchanged target',
    ]);

    const removed: string[] = [];
    await runTeardown(base('cli1-'), clients, (l) => removed.push(l));
    expect(removed).toEqual([
      'deleted target ecs-ingress-queue',
      `deleted rule ${name}`,
      `deleted queue ${name} ${result.queueUrl}`,
    ]);
    expect(fake.events.rule(name)).toBeUndefined();
    expect(fq.server.inspectQueue(name)).toBeUndefined();
  });

  it('--json prints one JSON document', async () => {
    const lines: string[] = [];
    await runBootstrap(base('cli2-', { json: true, cluster: clusterArn }), clients, (l) => lines.push(l));
    expect(lines).toHaveLength(1);
    const doc = JSON.parse(lines[0]!);
    expect(doc).toMatchObject({ clusterArn, instanceId: 'i-0123', reaped: [] });
    expect(doc.actions).toHaveLength(3);
    const out: string[] = [];
    await runTeardown(base('cli2-', { json: true }), clients, (l) => out.push(l));
    expect(JSON.parse(out[0]!).actions.map((a: { action: string }) => a.action)).toEqual([
      'deleted',
      'deleted',
      'deleted',
    ]);
  });

  it.each([
    ['an unknown cluster', { cluster: 'nope' }, /nope.*not found/],
    ['a bad --max-age', { reap: true, maxAge: 'soon' }, /--max-age/],
    ['a bad --prefix', { prefix: 'bad.prefix' }, /prefix/],
  ])('%s is refused with a message naming it', async (_label, overrides, message) => {
    await expect(runBootstrap(base('cli3-', overrides), clients, () => {})).rejects.toThrow(message);
  });
});

describe('ecs-ingress bootstrap / teardown as a process', () => {
  it('reads endpoints from AWS_ENDPOINT_URL_<SERVICE> and prints what it did', async () => {
    const env = {
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'AKIDFAKE',
      AWS_SECRET_ACCESS_KEY: 'fake-secret',
      AWS_ENDPOINT_URL_SQS: fq.endpoint,
      AWS_ENDPOINT_URL_EVENTBRIDGE: fake.url,
      AWS_ENDPOINT_URL_ECS: fake.url,
      AWS_CONFIG_FILE: '/nonexistent/aws-config',
      AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/aws-credentials',
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_CLUSTER_NAME: 'prod',
      ECS_INGRESS_INSTANCE_ID: 'i-proc',
    };
    const cli = (...args: string[]) =>
      execa(process.execPath, ['--conditions=source', '--import', 'tsx', MAIN, ...args], {
        cwd: PACKAGE_DIR,
        env,
        extendEnv: false,
        reject: false,
        timeout: 60_000,
      });

    const up = await cli('bootstrap', '--prefix', 'proc-', '--reap');
    expect(up.stderr).not.toMatch(/ecs-ingress bootstrap:/);
    expect(up.exitCode).toBe(0);
    const name = 'proc-prod-i-proc';
    const lines = up.stdout.trim().split('\n');
    expect(lines.map((l) => l.split(' ').slice(0, 3).join(' '))).toEqual([
      `created rule ${name}`,
      `created queue ${name}`,
      'created target ecs-ingress-queue',
      expect.stringMatching(/^queue-url http/),
    ]);
    expect(fake.events.rule(name)?.targets.size).toBe(1);

    const down = await cli('teardown', '--prefix', 'proc-', '--json');
    expect(down.exitCode).toBe(0);
    const doc = JSON.parse(down.stdout);
    expect(doc.actions.map((a: { action: string; kind: string }) => `${a.action} ${a.kind}`)).toEqual([
      'deleted target',
      'deleted rule',
      'deleted queue',
    ]);
    expect(fq.server.inspectQueue(name)).toBeUndefined();

    const failed = await cli('bootstrap', '--cluster', 'missing', '--prefix', 'proc-');
    // A cluster that does not exist is a configuration error: exit 2 in the CLI's scheme.
    expect(failed.exitCode).toBe(2);
    expect(failed.stderr).toMatch(/ecs-ingress bootstrap: .*missing.*not found/);
  });

  it('takes ECS_INGRESS_QUEUE_PREFIX and ECS_INGRESS_REAP_AFTER from the environment, as run does', async () => {
    // Another daemon's queue and rule under the same prefix, last heartbeat 90 minutes ago.
    const prefix = 'envp-';
    const old = await ensureInstanceQueue({
      sqs: clients.sqs,
      events: clients.events,
      clusterArn,
      instanceId: 'i-old',
      prefix,
      now: () => Date.now() - 90 * 60_000,
    });
    const env = {
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'AKIDFAKE',
      AWS_SECRET_ACCESS_KEY: 'fake-secret',
      AWS_ENDPOINT_URL_SQS: fq.endpoint,
      AWS_ENDPOINT_URL_EVENTBRIDGE: fake.url,
      AWS_ENDPOINT_URL_ECS: fake.url,
      AWS_CONFIG_FILE: '/nonexistent/aws-config',
      AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/aws-credentials',
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_CLUSTER_NAME: 'prod',
      ECS_INGRESS_INSTANCE_ID: 'i-env',
      ECS_INGRESS_QUEUE_PREFIX: prefix,
    };
    const cli = (extra: Record<string, string>, ...args: string[]) =>
      execa(process.execPath, ['--conditions=source', '--import', 'tsx', MAIN, ...args], {
        cwd: PACKAGE_DIR,
        env: { ...env, ...extra },
        extendEnv: false,
        reject: false,
        timeout: 60_000,
      });

    // 90 minutes is not stale under ECS_INGRESS_REAP_AFTER=2h: nothing reaped; our own name has the prefix.
    const up = await cli({ ECS_INGRESS_REAP_AFTER: '2h' }, 'bootstrap', '--reap');
    expect(up.exitCode, up.stderr).toBe(0);
    expect(up.stdout).toContain(`created queue ${prefix}prod-i-env`);
    expect(up.stdout).not.toContain('i-old');
    expect(fq.server.inspectQueue(`${prefix}prod-i-old`)).toBeDefined();

    // Under the default (1h) it is: teardown with the same environment removes ours and reaps it.
    const down = await cli({}, 'teardown', '--reap', '--json');
    expect(down.exitCode, down.stderr).toBe(0);
    const doc = JSON.parse(down.stdout) as { actions: { name: string }[]; reaped: { name: string }[] };
    expect(doc.actions.map((a) => a.name)).toContain(`${prefix}prod-i-env`);
    expect(doc.reaped.map((a) => a.name)).toContain(`${prefix}prod-i-old`);
    expect(fq.server.inspectQueue(`${prefix}prod-i-env`)).toBeUndefined();
    expect(fq.server.inspectQueue(`${prefix}prod-i-old`)).toBeUndefined();
    expect(old.queueUrl).toContain('i-old');
  });

  it('refuses an invalid ECS_INGRESS_QUEUE_PREFIX like run, exit 2, naming the variable', async () => {
    const result = await execa(
      process.execPath,
      ['--conditions=source', '--import', 'tsx', MAIN, 'teardown'],
      {
        cwd: PACKAGE_DIR,
        env: {
          AWS_REGION: 'us-east-1',
          ECS_INGRESS_QUEUE_PREFIX: 'bad.prefix',
          ECS_INGRESS_INSTANCE_ID: 'i-x',
        },
        extendEnv: false,
        reject: false,
        timeout: 60_000,
      },
    );
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('ECS_INGRESS_QUEUE_PREFIX');
  });
});
