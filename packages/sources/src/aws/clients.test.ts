import { DescribeInstancesCommand } from '@aws-sdk/client-ec2';
import { DescribeClustersCommand, ListTasksCommand } from '@aws-sdk/client-ecs';
import { ListRulesCommand } from '@aws-sdk/client-eventbridge';
import { type AwsFake, startAwsFake } from '@ecs-ingress/testkit/aws';
import { type Logger, silentLogger } from '@ecs-ingress/types';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { RecordedMetrics } from '../../test/helpers.js';
import { AWS_CALL_ERROR_CODES, AwsCallError, awsCall } from './aws-call-error.js';
import { type AwsClients, createAwsClients } from './clients.js';

let fake: AwsFake;
let clients: AwsClients | undefined;

beforeAll(async () => {
  fake = await startAwsFake();
});
afterAll(async () => {
  await fake.close();
});
afterEach(() => {
  clients?.destroy();
  clients = undefined;
  vi.unstubAllEnvs();
  fake.resetCalls();
  fake.clearFaults();
  fake.ecs.clusters.clear();
});

/** Credentials through the default chain's first link (environment), nothing read from ~/.aws. */
function stubCredentials(): void {
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDTEST');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'secret');
  vi.stubEnv('AWS_SESSION_TOKEN', '');
  vi.stubEnv('AWS_PROFILE', '');
  vi.stubEnv('AWS_CONFIG_FILE', '/nonexistent/ecs-ingress-test/config');
  vi.stubEnv('AWS_SHARED_CREDENTIALS_FILE', '/nonexistent/ecs-ingress-test/credentials');
}

function counterValue(
  metrics: RecordedMetrics,
  labels: { service: string; operation: string; outcome: string },
): number {
  return metrics.awsCalls.get(`${labels.service} ${labels.operation} ${labels.outcome}`) ?? 0;
}

function histogramCount(metrics: RecordedMetrics, service: string, operation: string): number {
  return metrics.awsDurations.get(`${service} ${operation}`) ?? 0;
}

describe('createAwsClients endpoint override through the SDK standard variables', () => {
  it('AWS_ENDPOINT_URL_ECS and AWS_ENDPOINT_URL_EC2 route those clients to the fake', async () => {
    stubCredentials();
    vi.stubEnv('AWS_ENDPOINT_URL', '');
    vi.stubEnv('AWS_ENDPOINT_URL_ECS', fake.url);
    vi.stubEnv('AWS_ENDPOINT_URL_EC2', fake.url);
    fake.ecs.addCluster('prod');
    fake.ec2.putInstance('i-0abc', '10.0.0.9');
    clients = createAwsClients({ region: 'us-east-1', logger: silentLogger, maxAttempts: 1 });

    const out = await clients.ecs.send(new DescribeClustersCommand({ clusters: ['prod'] }));
    expect(out.clusters?.[0]?.clusterArn).toBe('arn:aws:ecs:us-east-1:123456789012:cluster/prod');
    const ec2 = await (await clients.ec2()).send(new DescribeInstancesCommand({ InstanceIds: ['i-0abc'] }));
    expect(ec2.Reservations?.[0]?.Instances?.[0]?.PrivateIpAddress).toBe('10.0.0.9');
    expect(fake.callCounts()).toEqual({ 'ecs:DescribeClusters': 1, 'ec2:DescribeInstances': 1 });
    // The credentials of the default chain (environment) were used: the request was signed with them.
    expect(fake.requests('ecs')).toHaveLength(1);
  });

  it('AWS_ENDPOINT_URL alone routes every client (EventBridge here)', async () => {
    stubCredentials();
    vi.stubEnv('AWS_ENDPOINT_URL', fake.url);
    clients = createAwsClients({ region: 'us-east-1', logger: silentLogger, maxAttempts: 1 });
    const out = await (await clients.events()).send(new ListRulesCommand({}));
    expect(out.Rules).toEqual([]);
    expect(fake.calls('events', 'ListRules')).toBe(1);
  });
});

describe('metrics middleware', () => {
  function instrumented(maxAttempts: number): { c: AwsClients; metrics: RecordedMetrics } {
    const metrics = new RecordedMetrics();
    const c = createAwsClients({
      region: 'us-east-1',
      logger: silentLogger,
      metrics,
      maxAttempts,
      endpoint: fake.url,
      credentials: fake.clientConfig().credentials,
    });
    clients = c;
    return { c, metrics };
  }

  it('counts a success once, with its latency', async () => {
    const { c, metrics } = instrumented(3);
    fake.ecs.addCluster('default');
    await c.ecs.send(new ListTasksCommand({ cluster: 'default' }));
    expect(counterValue(metrics, { service: 'ecs', operation: 'ListTasks', outcome: 'success' })).toBe(1);
    expect(histogramCount(metrics, 'ecs', 'ListTasks')).toBe(1);
  });

  it('counts a call throttled once then answered as one success: the SDK retry is inside', async () => {
    const { c, metrics } = instrumented(3);
    fake.ecs.addCluster('default');
    fake.inject({ service: 'ecs', operation: 'ListTasks', kind: 'throttle', times: 1 });
    await c.ecs.send(new ListTasksCommand({ cluster: 'default' }));
    expect(fake.calls('ecs', 'ListTasks')).toBe(2);
    expect(counterValue(metrics, { service: 'ecs', operation: 'ListTasks', outcome: 'success' })).toBe(1);
    expect(counterValue(metrics, { service: 'ecs', operation: 'ListTasks', outcome: 'throttled' })).toBe(0);
    expect(histogramCount(metrics, 'ecs', 'ListTasks')).toBe(1);
  });

  it.each([
    {
      name: 'ECS throttling',
      kind: 'throttle' as const,
      service: 'ecs' as const,
      outcome: 'throttled',
      code: AWS_CALL_ERROR_CODES.throttled,
    },
    {
      name: 'EC2 RequestLimitExceeded',
      kind: 'throttle' as const,
      service: 'ec2' as const,
      outcome: 'throttled',
      code: AWS_CALL_ERROR_CODES.throttled,
    },
    {
      name: 'ECS 5xx',
      kind: 'server-error' as const,
      service: 'ecs' as const,
      outcome: 'error',
      code: AWS_CALL_ERROR_CODES.unavailable,
    },
  ])('$name that outlasts the retries counts as $outcome and maps to $code', async (row) => {
    const { c, metrics } = instrumented(1);
    fake.ecs.addCluster('default');
    fake.inject({ service: row.service, kind: row.kind });
    const operation = row.service === 'ecs' ? 'DescribeClusters' : 'DescribeInstances';
    const err = await awsCall(row.service, operation, async () =>
      row.service === 'ecs'
        ? c.ecs.send(new DescribeClustersCommand({ clusters: ['default'] }))
        : (await c.ec2()).send(new DescribeInstancesCommand({ InstanceIds: ['i-01'] })),
    ).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AwsCallError);
    expect((err as AwsCallError).code).toBe(row.code);
    expect((err as AwsCallError).operation).toBe(operation);
    expect(counterValue(metrics, { service: row.service, operation, outcome: row.outcome })).toBe(1);
  });

  it('maps a 4xx rejection to ECS_INGRESS_AWS_REJECTED, not retryable', async () => {
    const { c, metrics } = instrumented(1);
    const err = await awsCall('ecs', 'ListTasks', () =>
      c.ecs.send(new ListTasksCommand({ cluster: 'no-such-cluster' })),
    ).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AwsCallError);
    expect((err as AwsCallError).code).toBe(AWS_CALL_ERROR_CODES.rejected);
    expect((err as AwsCallError).awsCode).toBe('ClusterNotFoundException');
    expect((err as AwsCallError).retryable).toBe(false);
    expect(counterValue(metrics, { service: 'ecs', operation: 'ListTasks', outcome: 'error' })).toBe(1);
  });

  it('maps a refused connection to ECS_INGRESS_AWS_UNAVAILABLE', async () => {
    const metrics = new RecordedMetrics();
    // Port 1 on loopback: nothing listens there, the connection is refused at once.
    clients = createAwsClients({
      region: 'us-east-1',
      logger: silentLogger,
      metrics,
      maxAttempts: 1,
      endpoint: 'http://127.0.0.1:1',
      credentials: fake.clientConfig().credentials,
    });
    const ecs = clients.ecs;
    const err = await awsCall('ecs', 'ListTasks', () => ecs.send(new ListTasksCommand({}))).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((err as AwsCallError).code).toBe(AWS_CALL_ERROR_CODES.unavailable);
    expect(counterValue(metrics, { service: 'ecs', operation: 'ListTasks', outcome: 'error' })).toBe(1);
  });
  it('sends each service to its own endpoint when per-service endpoints are given', async () => {
    // ECS to the fake, EC2 to a port where nothing listens: only ECS may succeed.
    clients = createAwsClients({
      region: 'us-east-1',
      logger: silentLogger,
      maxAttempts: 1,
      endpoint: 'http://127.0.0.1:1',
      endpoints: { ecs: fake.url },
      credentials: fake.clientConfig().credentials,
    });
    fake.ecs.addCluster('default');
    const before = fake.calls('ecs', 'ListTasks');
    await clients.ecs.send(new ListTasksCommand({ cluster: 'default' }));
    expect(fake.calls('ecs', 'ListTasks')).toBe(before + 1);
    const ec2 = await clients.ec2();
    await expect(ec2.send(new DescribeInstancesCommand({ InstanceIds: ['i-1'] }))).rejects.toThrow();
  });
});

describe('EC2, EventBridge and S3: built at their first use', () => {
  /** A logger keeping the `service` of every "AWS client created" line, in order. */
  function creationLog(): { logger: Logger; created: string[] } {
    const created: string[] = [];
    const logger: Logger = {
      ...silentLogger,
      debug(obj: unknown, msg?: string) {
        if (msg === 'AWS client created') created.push((obj as { service: string }).service);
      },
      child: () => logger,
    };
    return { logger, created };
  }

  it('ECS and SQS at once; the others at their first call, once whoever asks; destroy() builds none', async () => {
    const { logger, created } = creationLog();
    clients = createAwsClients({
      region: 'us-east-1',
      logger,
      endpoint: fake.url,
      credentials: fake.clientConfig().credentials,
    });
    expect(created).toEqual(['ecs', 'sqs']);
    const [a, b] = await Promise.all([clients.ec2(), clients.ec2()]);
    expect(a).toBe(b);
    expect(await clients.ec2()).toBe(a);
    expect(created).toEqual(['ecs', 'sqs', 'ec2']);
    clients.destroy();
    clients = undefined;
    // EventBridge and S3 were never asked for: destroying did not build them.
    expect(created).toEqual(['ecs', 'sqs', 'ec2']);
  });

  it('have the settings the eager clients have: region, retries, credentials, endpoints, timeouts, metrics', async () => {
    const metrics = new RecordedMetrics();
    clients = createAwsClients({
      region: 'us-east-1',
      logger: silentLogger,
      metrics,
      maxAttempts: 1,
      retryMode: 'adaptive',
      requestTimeoutMs: 300,
      // Nothing listens on port 1: only a per-service endpoint reaches the fake.
      endpoint: 'http://127.0.0.1:1',
      endpoints: { ec2: fake.url, eventbridge: fake.url, s3: 'http://127.0.0.1:9000' },
      s3ForcePathStyle: true,
      credentials: { accessKeyId: 'AKIDLAZY', secretAccessKey: 'secret' },
    });
    const [ec2, events, s3] = await Promise.all([clients.ec2(), clients.events(), clients.s3()]);
    for (const client of [ec2, events, s3]) {
      expect(await client.config.region()).toBe('us-east-1');
      expect(await client.config.maxAttempts()).toBe(1);
      expect(client.config.retryMode).toBe('adaptive');
      expect((await client.config.credentials()).accessKeyId).toBe('AKIDLAZY');
      expect(client.middlewareStack.identify().join(' ')).toMatch(/ecsIngressMetricsMiddleware/);
    }
    expect(s3.config.forcePathStyle).toBe(true);
    expect(await s3.config.endpoint?.()).toMatchObject({ hostname: '127.0.0.1', port: 9000 });

    // The endpoint and the metrics middleware at work, through the fake.
    fake.ec2.putInstance('i-0abc', '10.0.0.9');
    const out = await ec2.send(new DescribeInstancesCommand({ InstanceIds: ['i-0abc'] }));
    expect(out.Reservations?.[0]?.Instances?.[0]?.PrivateIpAddress).toBe('10.0.0.9');
    await events.send(new ListRulesCommand({}));
    expect(
      counterValue(metrics, { service: 'ec2', operation: 'DescribeInstances', outcome: 'success' }),
    ).toBe(1);
    expect(counterValue(metrics, { service: 'events', operation: 'ListRules', outcome: 'success' })).toBe(1);

    // The request timeout, enforced (throwOnRequestTimeout): an answer slower than it fails the call.
    fake.inject({ service: 'ec2', kind: 'delay', delayMs: 5_000, times: 1 });
    const err = await ec2.send(new DescribeInstancesCommand({ InstanceIds: ['i-0abc'] })).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((err as Error | undefined)?.name).toBe('TimeoutError');
  });
});

describe('the SDK’s own region and retry configuration (as every AWS tool)', () => {
  /** `config.retryMode`: a provider when the SDK resolves it, the value when the caller set it. */
  async function retryModeOf(client: { config: { retryMode?: unknown } }): Promise<unknown> {
    const mode = client.config.retryMode;
    return typeof mode === 'function' ? await (mode as () => Promise<unknown>)() : mode;
  }

  /** A shared config file with one profile; the SDK reads it when the variables point at it. */
  async function profileFile(body: string): Promise<string> {
    const { mkdtemp, writeFile } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = await mkdtemp(join(tmpdir(), 'ecs-ingress-aws-config-'));
    const file = join(dir, 'config');
    await writeFile(file, body);
    return file;
  }

  it('AWS_MAX_ATTEMPTS and AWS_RETRY_MODE reach every client when the caller sets none', async () => {
    stubCredentials();
    vi.stubEnv('AWS_MAX_ATTEMPTS', '7');
    vi.stubEnv('AWS_RETRY_MODE', 'adaptive');
    clients = createAwsClients({ region: 'eu-west-1', logger: silentLogger });
    const c = clients;
    for (const client of [c.ecs, await c.ec2(), c.sqs, await c.events(), await c.s3()]) {
      expect(await client.config.maxAttempts()).toBe(7);
      expect(await retryModeOf(client)).toBe('adaptive');
    }
  });

  it('the profile’s region, max_attempts and retry_mode apply when no variable sets them', async () => {
    stubCredentials();
    vi.stubEnv('AWS_REGION', undefined);
    vi.stubEnv('AWS_DEFAULT_REGION', undefined);
    vi.stubEnv('AWS_MAX_ATTEMPTS', undefined);
    vi.stubEnv('AWS_RETRY_MODE', undefined);
    vi.stubEnv(
      'AWS_CONFIG_FILE',
      await profileFile('[profile ops]\nregion = eu-north-1\nmax_attempts = 5\nretry_mode = standard\n'),
    );
    vi.stubEnv('AWS_PROFILE', 'ops');
    clients = createAwsClients({ logger: silentLogger });
    expect(await clients.ecs.config.region()).toBe('eu-north-1');
    expect(await clients.ecs.config.maxAttempts()).toBe(5);
    const { resolveAwsRegion } = await import('./region.js');
    expect(await resolveAwsRegion(undefined)).toBe('eu-north-1');
    expect(await resolveAwsRegion('ap-south-1')).toBe('ap-south-1');
  });

  it('no region anywhere: a ConfigError naming AWS_REGION, never a default (endpoint override or not)', async () => {
    stubCredentials();
    vi.stubEnv('AWS_REGION', undefined);
    vi.stubEnv('AWS_DEFAULT_REGION', undefined);
    vi.stubEnv('AWS_ENDPOINT_URL', fake.url);
    const { resolveAwsRegion } = await import('./region.js');
    await expect(resolveAwsRegion(undefined)).rejects.toMatchObject({
      code: 'ECS_INGRESS_CONFIG_INVALID',
      variable: 'AWS_REGION',
    });
  });

  it('a caller’s explicit settings (tests) still win', async () => {
    stubCredentials();
    vi.stubEnv('AWS_MAX_ATTEMPTS', '7');
    clients = createAwsClients({
      region: 'eu-west-1',
      logger: silentLogger,
      maxAttempts: 2,
      retryMode: 'standard',
    });
    expect(await clients.ecs.config.maxAttempts()).toBe(2);
    expect(await retryModeOf(clients.ecs)).toBe('standard');
  });
});
