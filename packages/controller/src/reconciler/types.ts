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
 * handled like any failure. `push`: dynamic upstream mode could not hand the endpoints to NGINX's
 * control endpoint (no reload failed; NGINX keeps the endpoints it had).
 */
export type ApplyStage = 'write' | 'test' | 'reload' | 'push' | 'unexpected';

/** What an applier reports. A failure has left the previous config serving (the applier's duty). */
export type ApplyResult =
  | {
      readonly ok: true;
      /** The whole apply: write, test, reload, confirm. */
      readonly durationMs: number;
      /** The reload alone (SIGHUP to confirmed), when the applier measured it. */
      readonly reloadDurationMs?: number;
      /**
       * Whether NGINX was reloaded. Absent means it was (every apply of reload mode); `false` when
       * the config went live without one (dynamic mode's endpoint-only change).
       */
      readonly reloaded?: boolean;
    }
  | {
      readonly ok: false;
      readonly error: Error;
      readonly stage: ApplyStage;
      /**
       * A reload succeeded before the failure (dynamic mode: reloaded, then the endpoint push
       * failed). Absent means no reload went live.
       */
      readonly reloaded?: boolean;
    };

export interface ApplyContext {
  /** Time (reconciler clock, ms) of the first state emission whose render differed from the applied one. */
  readonly changedSince: number;
}

/** Puts a rendered config live. One call at a time: the reconciler never overlaps applies. */
export interface ConfigApplier {
  apply(config: RenderedConfig, context: ApplyContext): Promise<ApplyResult>;
}
