/**
 * The daemon's AWS clients: `createAwsClients` (shared retry policy, timeouts, metrics middleware),
 * with the endpoint overrides of the configuration passed explicitly to each client that has one.
 *
 * Why explicitly, when the SDK reads AWS_ENDPOINT_URL_<SERVICE> itself: with only
 * AWS_ENDPOINT_URL_SQS in the environment, the SQS client of SDK 3.1162 still sends each request to
 * the host of the QueueUrl ("QueueUrl host as endpoint"), which breaks emulators (and VPC endpoints)
 * whose queue URLs name another host; an `endpoint` in the client configuration turns that off. And
 * a configuration handed in by a test (not from process.env) must reach the clients too.
 */
import { EC2Client } from '@aws-sdk/client-ec2';
import { ECSClient } from '@aws-sdk/client-ecs';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { Logger } from '@ecs-ingress/types';
import { type AwsClients, createAwsClients } from '../aws/clients.js';
import { type InstrumentableClient, instrumentClient } from '../aws/instrument.js';
import type { AwsEndpoints } from '../config/env.js';
import type { Metrics } from '../http/metrics.js';

export interface DaemonClientsOptions {
  readonly region: string;
  readonly endpoints: AwsEndpoints;
  readonly logger: Logger;
  readonly metrics?: Pick<Metrics, 'awsCalls' | 'awsCallDurationSeconds'>;
  /** Static credentials (tests); default: the SDK's provider chain. */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
}

/** Per-attempt timeouts, as createAwsClients sets them: SQS outlasts its 20 s long poll, S3 bundles can be large. */
const TIMEOUT_MS = { default: 10_000, sqs: 30_000, s3: 60_000 } as const;
const CONNECTION_TIMEOUT_MS = 3000;

export function createDaemonClients(options: DaemonClientsOptions): AwsClients {
  const { endpoints } = options;
  const base = createAwsClients({
    region: options.region,
    logger: options.logger,
    ...(options.metrics ? { metrics: options.metrics } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
    // Emulators serve buckets by path only (`<bucket>.127.0.0.1` does not resolve).
    ...(endpoints.s3 !== undefined ? { s3ForcePathStyle: true } : {}),
  });
  const config = (endpoint: string, timeoutMs: number) => ({
    region: options.region,
    endpoint,
    maxAttempts: 3,
    retryMode: 'standard',
    requestHandler: {
      requestTimeout: timeoutMs,
      connectionTimeout: CONNECTION_TIMEOUT_MS,
      throwOnRequestTimeout: true,
    },
    ...(options.credentials ? { credentials: { ...options.credentials } } : {}),
  });
  const replaced: { destroy(): void }[] = [];
  function swap<C extends InstrumentableClient & { destroy(): void }>(
    current: C,
    endpoint: string | undefined,
    make: (endpoint: string) => C,
    service: string,
  ): C {
    if (endpoint === undefined) return current;
    current.destroy();
    const client = make(endpoint);
    if (options.metrics) instrumentClient(client, service, options.metrics);
    replaced.push(client);
    return client;
  }
  const ecs = swap(base.ecs, endpoints.ecs, (e) => new ECSClient(config(e, TIMEOUT_MS.default)), 'ecs');
  const ec2 = swap(base.ec2, endpoints.ec2, (e) => new EC2Client(config(e, TIMEOUT_MS.default)), 'ec2');
  const sqs = swap(base.sqs, endpoints.sqs, (e) => new SQSClient(config(e, TIMEOUT_MS.sqs)), 'sqs');
  const events = swap(
    base.events,
    endpoints.eventbridge,
    (e) => new EventBridgeClient(config(e, TIMEOUT_MS.default)),
    'events',
  );
  const s3 = swap(
    base.s3,
    endpoints.s3,
    (e) => new S3Client({ ...config(e, TIMEOUT_MS.s3), forcePathStyle: true }),
    's3',
  );
  return {
    ecs,
    ec2,
    sqs,
    events,
    s3,
    destroy() {
      base.destroy();
      for (const client of replaced) client.destroy();
    },
  };
}
