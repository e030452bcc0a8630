/**
 * Errors with stable codes. Every error ecs-ingress logs carries one of these codes, so alerts
 * and log queries never depend on message wording.
 */

/** Base class: a stable `code`, whether retrying can help, and the cause chained. */
export class EcsIngressError extends Error {
  readonly code: string;
  readonly retryable: boolean;

  constructor(code: string, message: string, options?: { cause?: unknown; retryable?: boolean }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retryable = options?.retryable ?? false;
  }
}

/** An event, message body, JSONL line or API object that does not have the shape we need. */
export class EventParseError extends EcsIngressError {
  /** Short machine-friendly reason, e.g. `not-json`, `missing-field:detail.taskArn`. */
  readonly reason: string;

  /** `code` defaults to ECS_INGRESS_EVENT_INVALID; subclasses name a narrower one. */
  constructor(reason: string, message: string, options?: { cause?: unknown; code?: string }) {
    super(options?.code ?? 'ECS_INGRESS_EVENT_INVALID', message, options);
    this.reason = reason;
  }
}

/** Configuration (environment variable or CLI flag) that fails validation. */
export class ConfigError extends EcsIngressError {
  /** The variable or flag at fault, e.g. `ECS_INGRESS_DEBOUNCE_MIN_MS`. */
  readonly variable: string;

  constructor(variable: string, message: string, options?: { cause?: unknown }) {
    super('ECS_INGRESS_CONFIG_INVALID', `${variable}: ${message}`, options);
    this.variable = variable;
  }
}
