/**
 * Errors of the NGINX runner, each with a stable code (alerts and log queries key on the code,
 * never on the wording). NGINX's own diagnostics travel in `nginxErrors`: the `[emerg]`, `[alert]`
 * and `[crit]` lines it printed, verbatim.
 */
import { EcsIngressError } from '@ecs-ingress/types';

/** NGINX exited, or never brought up a worker, while `start()` waited for it. */
export class NginxStartFailedError extends EcsIngressError {
  readonly nginxErrors: readonly string[];
  readonly exitCode: number | undefined;
  readonly signal: string | undefined;

  constructor(
    message: string,
    details: { nginxErrors: readonly string[]; exitCode?: number; signal?: string; cause?: unknown },
  ) {
    super('ECS_INGRESS_NGINX_START_FAILED', message, { cause: details.cause, retryable: true });
    this.nginxErrors = details.nginxErrors;
    this.exitCode = details.exitCode;
    this.signal = details.signal;
  }
}

/** `nginx -t` rejected the configuration on disk. Returned inside `NginxTestResult`, or thrown by `testOrThrow()`. */
export class NginxTestFailedError extends EcsIngressError {
  readonly nginxErrors: readonly string[];
  readonly output: string;

  constructor(message: string, details: { nginxErrors: readonly string[]; output: string }) {
    super('ECS_INGRESS_NGINX_TEST_FAILED', message);
    this.nginxErrors = details.nginxErrors;
    this.output = details.output;
  }
}

/**
 * The master got SIGHUP but no new generation of workers appeared within the timeout. NGINX keeps
 * serving the previous configuration in that case; `nginxErrors` says why it refused the new one.
 */
export class NginxReloadFailedError extends EcsIngressError {
  readonly nginxErrors: readonly string[];
  /** `rejected`: NGINX logged an emerg and settled; `timeout`: nothing conclusive in time; `not-running`. */
  readonly reason: 'rejected' | 'timeout' | 'not-running';

  constructor(
    message: string,
    details: { nginxErrors: readonly string[]; reason: 'rejected' | 'timeout' | 'not-running' },
  ) {
    super('ECS_INGRESS_NGINX_RELOAD_FAILED', message, { retryable: details.reason === 'timeout' });
    this.nginxErrors = details.nginxErrors;
    this.reason = details.reason;
  }
}

/** NGINX crashed too often within the restart window; the runner gave up restarting it. */
export class NginxCrashLoopError extends EcsIngressError {
  readonly restarts: number;
  readonly windowMs: number;

  constructor(message: string, details: { restarts: number; windowMs: number; cause?: unknown }) {
    super('ECS_INGRESS_NGINX_CRASHLOOP', message, { cause: details.cause });
    this.restarts = details.restarts;
    this.windowMs = details.windowMs;
  }
}

/** The main config file asks for something the runner cannot supervise (e.g. `daemon on;`). */
export class NginxConfigUnsupportedError extends EcsIngressError {
  constructor(message: string) {
    super('ECS_INGRESS_NGINX_CONFIG_UNSUPPORTED', message);
  }
}

/** A managed file could not be written, committed or rolled back. */
export class NginxFileWriteError extends EcsIngressError {
  readonly path: string;

  constructor(path: string, message: string, options?: { cause?: unknown }) {
    super('ECS_INGRESS_NGINX_FILE_WRITE_FAILED', `${path}: ${message}`, options);
    this.path = path;
  }
}
