/**
 * The contracts between the reconciler, the renderer output and whatever applies a config. They
 * name no store or runner type, so the store (any state `S`) and the NGINX runner plug in through
 * a `render` function and a `ConfigApplier`.
 */

/** One file of a rendered configuration, path relative to wherever the applier writes. */
export interface RenderedFile {
  readonly path: string;
  readonly content: string;
}

/** The output of rendering one state. Two renders with the same `hash` have the same bytes. */
export interface RenderedConfig {
  /** Content hash of `files` (the renderer's); the only thing the reconciler compares. */
  readonly hash: string;
  readonly files: readonly RenderedFile[];
  /** Opaque to the reconciler, passed through to `applied$`/`failures$` (e.g. upstreams, for diffs). */
  readonly meta?: unknown;
}

/**
 * Where an apply failed. `unexpected`: the applier threw instead of returning a result (a bug),
 * handled like any failure.
 */
export type ApplyStage = 'write' | 'test' | 'reload' | 'unexpected';

/** What an applier reports. A failure has left the previous config serving (the applier's duty). */
export type ApplyResult =
  | {
      readonly ok: true;
      /** The whole apply: write, test, reload, confirm. */
      readonly durationMs: number;
      /** The reload alone (SIGHUP to confirmed), when the applier measured it. */
      readonly reloadDurationMs?: number;
    }
  | { readonly ok: false; readonly error: Error; readonly stage: ApplyStage };

export interface ApplyContext {
  /** Time (reconciler clock, ms) of the first state emission whose render differed from the applied one. */
  readonly changedSince: number;
}

/** Puts a rendered config live. One call at a time: the reconciler never overlaps applies. */
export interface ConfigApplier {
  apply(config: RenderedConfig, context: ApplyContext): Promise<ApplyResult>;
}
