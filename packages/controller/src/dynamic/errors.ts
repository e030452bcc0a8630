import { EcsIngressError } from '@ecs-ingress/types';

/** Which control call failed. */
export type DynamicControlOperation = 'push' | 'query';

/**
 * A call to the dynamic-mode control endpoint failed. `status` is the HTTP status when NGINX
 * answered; `reason` is the control handler's own explanation (`{"error": ...}`) for a rejection.
 * A 400/413 means the push was refused and nothing changed, so retrying the same push cannot help;
 * network errors, timeouts and 5xx are retryable.
 */
export class DynamicControlError extends EcsIngressError {
  readonly operation: DynamicControlOperation;
  readonly status: number | undefined;
  readonly reason: string;

  constructor(
    operation: DynamicControlOperation,
    reason: string,
    options: { status?: number; retryable: boolean; cause?: unknown },
  ) {
    super(
      operation === 'push' ? 'ECS_INGRESS_DYNAMIC_PUSH_FAILED' : 'ECS_INGRESS_DYNAMIC_QUERY_FAILED',
      `dynamic control ${operation} failed${options.status === undefined ? '' : ` (HTTP ${options.status})`}: ${reason}`,
      { retryable: options.retryable, cause: options.cause },
    );
    this.operation = operation;
    this.status = options.status;
    this.reason = reason;
  }
}
