/**
 * Metrics for every AWS SDK call: one middleware on a client's stack records
 * each operation's outcome and latency through `SourceMetrics.awsCall` (the HTTP layer counts
 * them as `ecs_ingress_aws_api_calls_total{service, operation, outcome}`).
 *
 * The middleware sits in the `initialize` step, the outermost one. The SDK's retry middleware lives
 * in `finalizeRequest`, further in, so what we time and classify is the whole operation as the
 * caller sees it: SDK retries included in the latency, and the outcome is the final one (a call
 * throttled twice and then answered counts once, as `success`).
 */
import type { AwsCallOutcome, SourceMetrics } from '../source-metrics.js';

/**
 * Error names the SDK itself treats as throttling (smithy's `THROTTLING_ERROR_CODES`), for errors
 * whose model does not carry `$retryable.throttling`. EC2 answers `RequestLimitExceeded`, ECS and
 * EventBridge `ThrottlingException`, SQS `RequestThrottled` / `ThrottlingException`, S3 `SlowDown`.
 */
const THROTTLING_NAMES: ReadonlySet<string> = new Set([
  'BandwidthLimitExceeded',
  'EC2ThrottledException',
  'LimitExceededException',
  'PriorRequestNotComplete',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'SlowDown',
  'ThrottledException',
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
]);

interface SdkErrorShape {
  name?: unknown;
  code?: unknown;
  $retryable?: { throttling?: boolean };
  $metadata?: { httpStatusCode?: number };
}

/** True when an SDK error (after its retries) means the service throttled us. */
export function isThrottlingError(err: unknown): boolean {
  if (err === null || typeof err !== 'object') return false;
  const e = err as SdkErrorShape;
  if (e.$retryable?.throttling === true) return true;
  if (typeof e.name === 'string' && THROTTLING_NAMES.has(e.name)) return true;
  return typeof e.code === 'string' && THROTTLING_NAMES.has(e.code);
}

/** The AWS error code of an SDK error (`name`), or the Node error code for network failures. */
export function awsErrorName(err: unknown): string {
  if (err === null || typeof err !== 'object') return 'Unknown';
  const e = err as SdkErrorShape;
  if (typeof e.name === 'string' && e.name !== 'Error') return e.name;
  if (typeof e.code === 'string') return e.code;
  return typeof e.name === 'string' ? e.name : 'Unknown';
}

/** The HTTP status of an SDK error, when the service answered at all. */
export function awsHttpStatus(err: unknown): number | undefined {
  if (err === null || typeof err !== 'object') return undefined;
  return (err as SdkErrorShape).$metadata?.httpStatusCode;
}

/** The outcome label for a finished call. */
export function classifyAwsOutcome(err: unknown): AwsCallOutcome {
  if (err === undefined) return 'success';
  return isThrottlingError(err) ? 'throttled' : 'error';
}

/** The parts of the SDK's middleware handler context we read. */
interface HandlerContext {
  commandName?: string;
}

type Handler = (args: unknown) => Promise<unknown>;
type Middleware = (next: Handler, context: HandlerContext) => Handler;

/**
 * The part of an SDK v3 client this module needs. Declared structurally because `@smithy/types`
 * is not a direct dependency; every `@aws-sdk/client-*` client satisfies it.
 */
export interface InstrumentableClient {
  readonly middlewareStack: {
    // `never`: each client's stack types its middleware by its own input/output unions; ours is
    // generic over them, which the structural type cannot say, so the call site casts.
    add(
      middleware: never,
      options: { step: 'initialize'; name: string; tags?: string[]; override?: boolean },
    ): void;
  };
}

const MIDDLEWARE_NAME = 'ecsIngressMetricsMiddleware';

/**
 * Adds the metrics middleware to `client` (idempotent: a second call replaces the first).
 * @param serviceName the `service` label, e.g. `ecs`, `ec2`, `sqs`, `events`, `s3`
 * @param now clock in ms (tests)
 */
export function instrumentClient<C extends InstrumentableClient>(
  client: C,
  serviceName: string,
  metrics: Pick<SourceMetrics, 'awsCall'>,
  now: () => number = () => performance.now(),
): C {
  const middleware: Middleware = (next, context) => async (args) => {
    // `commandName` is e.g. `DescribeTasksCommand`; the operation label drops the suffix.
    const operation = (context.commandName ?? 'Unknown').replace(/Command$/, '');
    const started = now();
    let failure: unknown;
    try {
      return await next(args);
    } catch (err) {
      failure = err ?? new Error('unknown failure');
      throw err;
    } finally {
      const outcome = classifyAwsOutcome(failure);
      metrics.awsCall(serviceName, operation, outcome, Math.max(0, now() - started) / 1000);
    }
  };
  client.middlewareStack.add(middleware as never, {
    step: 'initialize',
    name: MIDDLEWARE_NAME,
    tags: ['METRICS', 'ECS_INGRESS'],
    override: true,
  });
  return client;
}
