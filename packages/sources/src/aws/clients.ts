/**
 * The AWS SDK v3 clients ecs-ingress uses, built in one place with the same retry policy,
 * timeouts and metrics middleware.
 *
 * - Credentials: the SDK's default provider chain (environment, web identity, ECS container
 *   credentials, IMDS…) unless the caller passes some (tests).
 * - Region: the caller's (AWS_REGION / AWS_DEFAULT_REGION) when given, else the SDK's own chain
 *   (the profile's `region` in the shared config file); see aws/region.ts.
 * - Retries: the SDK's own configuration (AWS_MAX_ATTEMPTS, AWS_RETRY_MODE, or `max_attempts` /
 *   `retry_mode` in the profile; default 3 attempts, `standard`), unless a caller (a test) sets them.
 * - Endpoints: not set here, so the SDK's own configured-endpoint support applies:
 *   `AWS_ENDPOINT_URL_<SERVICE ID>` (`_ECS`, `_EC2`, `_SQS`, `_EVENTBRIDGE`, `_S3`) then
 *   `AWS_ENDPOINT_URL`, or `endpoint_url` in the shared config file; the SDK reads them when the
 *   client resolves its endpoint (tested in clients.test.ts).
 * - Loading: ECS and SQS, which every daemon calls, are built here. EC2 (bridge/host tasks on EC2
 *   container instances), EventBridge (per-instance queues) and S3 (an S3 bundle, the fleet's
 *   shared listing) are built on first use, their SDK modules imported then (aws/lazy-client.ts):
 *   `@aws-sdk/client-ec2` alone costs ~64 MB of RSS, which an awsvpc-only cluster never needs.
 *   Their users import only types from those packages at module top, commands on first call.
 */
import type { EC2Client } from '@aws-sdk/client-ec2';
import { ECSClient } from '@aws-sdk/client-ecs';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { Logger } from '@ecs-ingress/types';
import type { SourceMetrics } from '../source-metrics.js';
import { type InstrumentableClient, instrumentClient } from './instrument.js';
import { type LazyClient, lazyClient } from './lazy-client.js';

export interface AwsClients {
  readonly ecs: ECSClient;
  readonly sqs: SQSClient;
  /** Built (and `@aws-sdk/client-ec2` loaded) at the first call. */
  readonly ec2: LazyClient<EC2Client>;
  /** Built (and `@aws-sdk/client-eventbridge` loaded) at the first call. */
  readonly events: LazyClient<EventBridgeClient>;
  /** Built (and `@aws-sdk/client-s3` loaded) at the first call. */
  readonly s3: LazyClient<S3Client>;
  /** Closes the sockets of every client built so far (at shutdown). */
  destroy(): void;
}

/** The services we call, named as in `AWS_ENDPOINT_URL_<SERVICE>` (lower case). */
export type AwsServiceName = 'ecs' | 'ec2' | 'sqs' | 'eventbridge' | 's3';

export interface AwsClientsOptions {
  /** AWS region; default: the SDK's resolution (the profile's region). */
  readonly region?: string | undefined;
  readonly logger: Logger;
  /** Every call is reported through `awsCall` when given. */
  readonly metrics?: Pick<SourceMetrics, 'awsCall'>;
  /** Attempts per call, first one included. Default: the SDK's (AWS_MAX_ATTEMPTS, profile, else 3). */
  readonly maxAttempts?: number;
  /** Default: the SDK's (AWS_RETRY_MODE, profile, else `standard`); `adaptive` adds client-side rate limiting. */
  readonly retryMode?: 'standard' | 'adaptive';
  /** Per-attempt timeout for ECS, EC2, EventBridge and S3, ms. Default 10 s (S3: 60 s, bundles can be large). */
  readonly requestTimeoutMs?: number;
  /** Static credentials instead of the default chain (tests, fakes). */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
  /** One endpoint for every client (tests). Prefer the `AWS_ENDPOINT_URL*` variables. */
  readonly endpoint?: string;
  /**
   * Per-service endpoints, passed explicitly to each client (they win over `endpoint`). An explicit
   * `endpoint` also stops the SQS client from sending requests to the QueueUrl's host, which
   * emulators and VPC endpoints need (see daemon/aws.ts).
   */
  readonly endpoints?: Readonly<Partial<Record<AwsServiceName, string>>>;
  /** S3 path-style addressing, needed by S3 emulators on a custom endpoint. */
  readonly s3ForcePathStyle?: boolean;
}

const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
const S3_REQUEST_TIMEOUT_MS = 60_000;
/**
 * SQS long polls wait up to 20 s (ReceiveMessage `WaitTimeSeconds` maximum) before answering, so its
 * per-attempt timeout must be longer than that, or every empty poll would be aborted.
 */
const SQS_REQUEST_TIMEOUT_MS = 30_000;
const CONNECTION_TIMEOUT_MS = 3_000;

/** The five clients with shared settings and the metrics middleware on each; three of them built on first use. */
export function createAwsClients(options: AwsClientsOptions): AwsClients {
  const { maxAttempts, retryMode } = options;
  if (maxAttempts !== undefined && (!Number.isInteger(maxAttempts) || maxAttempts < 1)) {
    throw new RangeError(`maxAttempts must be a positive integer, got ${maxAttempts}`);
  }
  const requestTimeout = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const base = (timeoutMs: number, service: AwsServiceName) => {
    const endpoint = options.endpoints?.[service] ?? options.endpoint;
    return {
      // Left out when not set, so the SDK's own resolution applies (env, then the profile).
      ...(options.region === undefined ? {} : { region: options.region }),
      ...(maxAttempts === undefined ? {} : { maxAttempts }),
      ...(retryMode === undefined ? {} : { retryMode }),
      // Without throwOnRequestTimeout the handler only logs a warning when the timeout passes and
      // keeps waiting; with it the attempt fails and the SDK's retry policy takes over.
      requestHandler: {
        requestTimeout: timeoutMs,
        connectionTimeout: CONNECTION_TIMEOUT_MS,
        throwOnRequestTimeout: true,
      },
      ...(options.credentials ? { credentials: { ...options.credentials } } : {}),
      ...(endpoint ? { endpoint } : {}),
    };
  };

  /** The metrics middleware on `client` (when metrics are given; `service` is their label), and a debug line. */
  const ready = <C extends InstrumentableClient>(client: C, service: string): C => {
    if (options.metrics) instrumentClient(client, service, options.metrics);
    options.logger.debug({ service }, 'AWS client created');
    return client;
  };
  const ecs = ready(new ECSClient(base(requestTimeout, 'ecs')), 'ecs');
  const sqs = ready(new SQSClient(base(Math.max(requestTimeout, SQS_REQUEST_TIMEOUT_MS), 'sqs')), 'sqs');
  const ec2 = lazyClient(async () => {
    const { EC2Client } = await import('@aws-sdk/client-ec2');
    return ready(new EC2Client(base(requestTimeout, 'ec2')), 'ec2');
  });
  const events = lazyClient(async () => {
    const { EventBridgeClient } = await import('@aws-sdk/client-eventbridge');
    return ready(new EventBridgeClient(base(requestTimeout, 'eventbridge')), 'events');
  });
  const s3 = lazyClient(async () => {
    const { S3Client } = await import('@aws-sdk/client-s3');
    return ready(
      new S3Client({
        ...base(Math.max(requestTimeout, S3_REQUEST_TIMEOUT_MS), 's3'),
        ...(options.s3ForcePathStyle ? { forcePathStyle: true } : {}),
      }),
      's3',
    );
  });
  options.logger.debug(
    {
      region: options.region ?? 'from the AWS profile',
      maxAttempts: maxAttempts ?? 'from the SDK configuration',
      retryMode: retryMode ?? 'from the SDK configuration',
    },
    'AWS clients configured (EC2, EventBridge and S3 built at first use)',
  );

  return {
    ecs,
    sqs,
    ec2: ec2.get,
    events: events.get,
    s3: s3.get,
    destroy() {
      ecs.destroy();
      sqs.destroy();
      for (const lazy of [ec2, events, s3]) lazy.destroy();
    },
  };
}
