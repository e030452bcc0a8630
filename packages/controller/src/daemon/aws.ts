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

import { type AwsClients, createAwsClients } from '@ecs-ingress/sources';
import type { Logger } from '@ecs-ingress/types';
import type { AwsEndpoints } from '../config/env.js';
import type { Metrics } from '../http/metrics.js';
import { sourceMetrics } from '../http/source-metrics.js';

export interface DaemonClientsOptions {
  /** Default: the SDK's resolution (the profile's region); see @ecs-ingress/sources aws/region.ts. */
  readonly region: string | undefined;
  readonly endpoints: AwsEndpoints;
  readonly logger: Logger;
  readonly metrics?: Metrics;
  /** Static credentials (tests); default: the SDK's provider chain. */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
}

export function createDaemonClients(options: DaemonClientsOptions): AwsClients {
  const { endpoints } = options;
  return createAwsClients({
    region: options.region,
    logger: options.logger,
    endpoints,
    ...(options.metrics ? { metrics: sourceMetrics(options.metrics) } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
    // Emulators serve buckets by path only (`<bucket>.127.0.0.1` does not resolve).
    ...(endpoints.s3 !== undefined ? { s3ForcePathStyle: true } : {}),
  });
}
