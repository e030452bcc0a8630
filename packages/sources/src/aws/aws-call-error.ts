/**
 * An AWS call that failed after the SDK's own retries, with a stable code saying what kind of
 * failure it was, so the supervisor's logs and alerts never depend on SDK message wording.
 */
import { EcsIngressError } from '@ecs-ingress/types';
import { awsErrorName, awsHttpStatus, isThrottlingError } from './instrument.js';

/** Stable codes of `AwsCallError`. */
export const AWS_CALL_ERROR_CODES = {
  /** The service kept throttling through every SDK retry. */
  throttled: 'ECS_INGRESS_AWS_THROTTLED',
  /** 5xx answers, timeouts, connection failures: the service or the network is unwell. */
  unavailable: 'ECS_INGRESS_AWS_UNAVAILABLE',
  /** The service rejected the request (4xx other than throttling): access denied, not found… */
  rejected: 'ECS_INGRESS_AWS_REJECTED',
} as const;

export class AwsCallError extends EcsIngressError {
  /** `ecs`, `ec2`, … */
  readonly service: string;
  /** The operation, e.g. `DescribeTasks`. */
  readonly operation: string;
  /** The AWS error code (`ThrottlingException`, `AccessDeniedException`) or Node's (`ECONNREFUSED`). */
  readonly awsCode: string;
  readonly httpStatus: number | undefined;

  constructor(service: string, operation: string, cause: unknown) {
    const awsCode = awsErrorName(cause);
    const httpStatus = awsHttpStatus(cause);
    const code = isThrottlingError(cause)
      ? AWS_CALL_ERROR_CODES.throttled
      : httpStatus !== undefined && httpStatus >= 400 && httpStatus < 500
        ? AWS_CALL_ERROR_CODES.rejected
        : AWS_CALL_ERROR_CODES.unavailable;
    const detail = cause instanceof Error ? cause.message : String(cause);
    super(code, `${service}:${operation} failed (${awsCode}): ${detail}`, {
      cause,
      // Throttling and outages pass; a rejected request fails the same way next time, though a
      // later sync may still succeed (an IAM policy fixed, a cluster created), so the supervisor
      // retries everything — this flag only says whether retrying soon is likely to help.
      retryable: code !== AWS_CALL_ERROR_CODES.rejected,
    });
    this.service = service;
    this.operation = operation;
    this.awsCode = awsCode;
    this.httpStatus = httpStatus;
  }
}

/** Runs one SDK call, turning its failure into an `AwsCallError` naming the operation. */
export async function awsCall<T>(service: string, operation: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof AwsCallError) throw err;
    throw new AwsCallError(service, operation, err);
  }
}
