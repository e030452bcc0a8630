/**
 * Apply = write the files, `nginx -t`, reload (confirmed by the runner), commit as last known good
 * (DESIGN.md "Reconciler"). On a failed test or reload the previous files are restored, so what is
 * on disk is always what NGINX would load on its next start, and the old config keeps serving.
 *
 * The NGINX runner is reached through `ApplyTarget`, an adapter interface: the controller wires
 * the nginx-runner package to it, and tests hand in a fake.
 */
import type { Logger } from '@ecs-ingress/types';
import { silentLogger } from '@ecs-ingress/types';
import {
  CommitFailedError,
  ConfigTestFailedError,
  ConfigWriteError,
  ReloadFailedError,
  RollbackFailedError,
  RollbackReloadFailedError,
} from './errors.js';
import type { ApplyResult, ApplyStage, ConfigApplier, RenderedConfig, RenderedFile } from './types.js';

/** `nginx -t` on the files about to go live. */
export interface NginxTestResult {
  readonly ok: boolean;
  /** Everything `nginx -t` printed. */
  readonly output: string;
  /** Its `[emerg]`/`[error]` lines. */
  readonly errors: readonly string[];
}

/** What applying needs from the NGINX runner. */
export interface ApplyTarget {
  /** Writes each file atomically (temp + rename) over the live ones; the previous set stays restorable. */
  writeFiles(files: readonly RenderedFile[]): Promise<void>;
  /** `nginx -t` on the files now on disk. Rejects only when the test could not run at all. */
  test(): Promise<NginxTestResult>;
  /**
   * SIGHUP to the master, resolved once a new worker generation is confirmed. Rejects otherwise.
   * A rejection that carries `configRejected: true` or `reason: 'rejected'` (nginx-runner's
   * `NginxReloadFailedError`) means NGINX reported that it refused the new files (an `[emerg]` at
   * reload): the master then keeps its old configuration and workers, so the old config is still
   * live and no second reload is needed after the rollback.
   */
  reload(): Promise<{ readonly durationMs: number }>;
  /** Records the files on disk as the last known good set. The value is ignored. */
  commit(): Promise<unknown>;
  /** Puts the last known good set back on disk (does not reload). The value is ignored. */
  rollback(): Promise<unknown>;
}

export interface ConfigApplierOptions {
  target: ApplyTarget;
  logger?: Logger;
  /** Clock for durations (default `performance.now`). */
  now?: () => number;
}

/** NGINX said it kept the old configuration (see `ApplyTarget.reload`). */
function isConfigRejected(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { configRejected, reason } = error as { configRejected?: unknown; reason?: unknown };
  return configRejected === true || reason === 'rejected';
}

function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}

function failed(stage: ApplyStage, error: Error): ApplyResult {
  return { ok: false, stage, error };
}

/** Applies one rendered config; never rejects (every failure becomes `{ ok: false }`). */
export async function applyConfig(
  config: RenderedConfig,
  options: ConfigApplierOptions,
): Promise<ApplyResult> {
  const { target } = options;
  const now = options.now ?? (() => performance.now());
  const log = (options.logger ?? silentLogger).child({ component: 'apply', hash: config.hash });
  const startedAt = now();

  /** Restores the previous files; false when that failed too (logged). */
  async function restore(reason: ApplyStage): Promise<boolean> {
    try {
      await target.rollback();
      log.warn({ stage: reason }, 'previous config files restored');
      return true;
    } catch (cause) {
      const error = new RollbackFailedError('restoring the last known good files failed', { cause });
      log.error({ code: error.code, stage: reason, err: cause }, error.message);
      return false;
    }
  }

  try {
    await target.writeFiles(config.files);
  } catch (cause) {
    // Files are written one by one, so some may already be new: restore all of them.
    const error = new ConfigWriteError('writing the rendered config failed', { cause });
    log.error({ code: error.code, err: cause }, error.message);
    await restore('write');
    return failed('write', error);
  }

  let test: NginxTestResult;
  try {
    test = await target.test();
  } catch (cause) {
    test = { ok: false, output: String(asError(cause).message), errors: [] };
  }
  if (!test.ok) {
    // The running master never read these files (NGINX reads config only at start and reload),
    // so restoring them is enough: no reload.
    const error = new ConfigTestFailedError(test.errors, test.output);
    log.error({ code: error.code, diagnostics: test.errors }, error.message);
    await restore('test');
    return failed('test', error);
  }

  let reloadDurationMs: number;
  try {
    ({ durationMs: reloadDurationMs } = await target.reload());
  } catch (cause) {
    const configRejected = isConfigRejected(cause);
    const restored = await restore('reload');
    // When NGINX refused the files it still runs the old config: reloading again would only churn
    // workers. When the outcome is unknown (not confirmed in time), the new files may be live, so
    // reload once more on the restored files to be sure the old config is what serves. With the
    // rollback failed, a reload would load the bad files again: don't.
    if (restored && !configRejected) {
      try {
        await target.reload();
        log.warn('reloaded on the restored files');
      } catch (again) {
        const error = new RollbackReloadFailedError('reloading the restored files failed', { cause: again });
        log.error({ code: error.code, err: again }, error.message);
      }
    }
    const error = new ReloadFailedError(
      configRejected ? 'NGINX refused the new config at reload' : 'NGINX reload not confirmed',
      { configRejected, restored },
      { cause },
    );
    log.error({ code: error.code, configRejected, restored, err: cause }, error.message);
    return failed('reload', error);
  }

  try {
    await target.commit();
  } catch (cause) {
    // NGINX serves the new config; failing the apply now would misreport what is live.
    const error = new CommitFailedError('recording the applied files as last known good failed', { cause });
    log.warn({ code: error.code, err: cause }, error.message);
  }
  return { ok: true, durationMs: now() - startedAt, reloadDurationMs };
}

/** A `ConfigApplier` over an NGINX runner adapter. */
export function createConfigApplier(options: ConfigApplierOptions): ConfigApplier {
  return { apply: (config) => applyConfig(config, options) };
}
