/**
 * Errors of the reconciler and of applying a rendered config. Each carries a stable `code` so alerts
 * and log queries never depend on message wording.
 */
import { EcsIngressError } from '@ecs-ingress/types';

/** `render(state)` threw. The state is skipped; the next state emission is rendered afresh. */
export class RenderFailedError extends EcsIngressError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ECS_INGRESS_RENDER_FAILED', message, options);
  }
}

/** Writing the rendered files failed (disk full, permissions…). The previous files were restored. */
export class ConfigWriteError extends EcsIngressError {
  constructor(message: string, options?: { cause?: unknown }) {
    // A write can succeed later (space freed), but the reconciler still waits for a new render.
    super('ECS_INGRESS_CONFIG_WRITE_FAILED', message, { ...options, retryable: true });
  }
}

/** `nginx -t` rejected the files about to go live. The same files will fail again: not retryable. */
export class ConfigTestFailedError extends EcsIngressError {
  /** NGINX's `[emerg]`/`[error]` lines, as the runner extracted them. */
  readonly diagnostics: readonly string[];
  /** The full output of `nginx -t`. */
  readonly output: string;

  constructor(diagnostics: readonly string[], output: string, options?: { cause?: unknown }) {
    const first = diagnostics[0] ?? output.trim().split('\n')[0] ?? 'no diagnostics';
    super('ECS_INGRESS_CONFIG_TEST_FAILED', `nginx -t rejected the rendered config: ${first}`, options);
    this.diagnostics = diagnostics;
    this.output = output;
  }
}

/** The reload was not confirmed (NGINX refused the files, or no new worker generation in time). */
export class ReloadFailedError extends EcsIngressError {
  /** NGINX reported that it refused the new files and kept running the old configuration. */
  readonly configRejected: boolean;
  /** The previous files are back on disk. */
  readonly restored: boolean;

  constructor(
    message: string,
    details: { configRejected: boolean; restored: boolean },
    options?: { cause?: unknown },
  ) {
    // A reload can fail for passing reasons (timeout under load); retrying the same bytes is still
    // left to the next render, as DESIGN.md "Reconciler" says.
    super('ECS_INGRESS_RELOAD_FAILED', message, { ...options, retryable: true });
    this.configRejected = details.configRejected;
    this.restored = details.restored;
  }
}

/** Restoring the last known good files failed: the files on disk may be the rejected ones. */
export class RollbackFailedError extends EcsIngressError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ECS_INGRESS_ROLLBACK_FAILED', message, options);
  }
}

/** The reload that puts the restored files live after a failed reload failed too. */
export class RollbackReloadFailedError extends EcsIngressError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ECS_INGRESS_ROLLBACK_RELOAD_FAILED', message, options);
  }
}

/**
 * Recording the applied files as last known good failed. NGINX serves the new config; only a later
 * rollback could restore an older set than expected. Logged, never fails the apply.
 */
export class CommitFailedError extends EcsIngressError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ECS_INGRESS_COMMIT_FAILED', message, options);
  }
}

/** The applier threw instead of returning an `ApplyResult` (a bug): handled like a failed apply. */
export class ApplyUnexpectedError extends EcsIngressError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ECS_INGRESS_APPLY_UNEXPECTED', message, options);
  }
}
