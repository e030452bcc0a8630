/**
 * `ecs-ingress replay <file> --out <dir>`: the offline replay. Every line goes to the store in file
 * order, as fast as it can be read; the final state is derived, rendered and written to
 * `<dir>/upstreams.conf`. Nothing reads the wall clock (the store runs on the recorded clock), so
 * the same recording always gives the same bytes.
 */
import { mkdir } from 'node:fs/promises';
import { constants as osConstants } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { writeFileAtomic } from '@ecs-ingress/nginx-runner';
import { renderUpstreams } from '@ecs-ingress/renderer';
import { readRecording } from '@ecs-ingress/sources';
import { EcsIngressError, type Logger, silentLogger } from '@ecs-ingress/types';
import { describeFsError } from '../../daemon/startup-checks.js';
import {
  applyLine,
  emptyCounts,
  formatCounts,
  invalidLineReporter,
  type ReplayCounts,
} from './apply-recording.js';
import { nothingValidError } from './replay-input.js';
import type { ReplayModel } from './replay-model.js';

export const UPSTREAMS_FILE_NAME = 'upstreams.conf';

export interface ReplayToFileOptions {
  /** The JSONL recording. */
  readonly file: string;
  /** Directory for `upstreams.conf` (created when missing). */
  readonly outDir: string;
  /** Keep one cluster (name or ARN). */
  readonly cluster?: string;
  /** Any invalid line fails the replay (exit 1) and nothing is written. */
  readonly strict?: boolean;
  /** One line of output each (no trailing newline). */
  readonly stdout: (line: string) => void;
  readonly stderr: (line: string) => void;
  readonly logger?: Logger;
  /**
   * SIGINT/SIGTERM: reading stops and nothing is written; the result's exit code is 128 + the
   * signal's number when the abort reason names a signal (130 SIGINT, 143 SIGTERM), else 130.
   */
  readonly signal?: AbortSignal;
}

export interface ReplayToFileResult {
  readonly counts: ReplayCounts;
  /** The file written, or undefined when `--strict` refused to write. */
  readonly path?: string;
  readonly hash?: string;
  readonly upstreamCount: number;
  readonly serverCount: number;
  /** 0, or 1 when `--strict` met an invalid line. */
  /** 0; 1 when `--strict` met an invalid line; 128 + signal number when stopped by a signal. */
  readonly exitCode: number;
}

/**
 * Runs the offline replay. Rejects on I/O errors (unreadable recording, unwritable directory: a
 * `ReplayOutputError` naming the path) and with `ReplayInputError` when no line was valid.
 */
export async function replayToFile<S>(
  model: ReplayModel<S>,
  options: ReplayToFileOptions,
): Promise<ReplayToFileResult> {
  const store = model.createStore();
  const counts = emptyCounts();
  const readOptions = {
    ...(options.cluster === undefined ? {} : { cluster: options.cluster }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  };
  const invalidLines = invalidLineReporter(options.stderr);
  try {
    for await (const line of readRecording(options.file, readOptions)) {
      if (options.signal?.aborted) break;
      const { invalid } = applyLine(store, line, counts);
      if (invalid !== undefined) invalidLines.report(invalid, line.kind === 'invalid' ? line.raw : undefined);
    }
  } catch (error) {
    // The signal destroyed the stream under the reader: a stop, not an I/O error.
    if (!options.signal?.aborted) throw error;
  }
  if (options.signal?.aborted) {
    const reason = options.signal.reason;
    options.stderr(`replay: stopped by ${typeof reason === 'string' ? reason : 'a signal'}; nothing written`);
    return { counts, upstreamCount: 0, serverCount: 0, exitCode: signalExitCode(reason) };
  }
  invalidLines.finish();
  // A wrong file (binary, a document, empty) must not "replay" into an empty upstreams file.
  const nothingValid = nothingValidError(options.file, counts, invalidLines.sawBinary());
  if (nothingValid !== undefined) throw nothingValid;

  if (options.strict === true && counts.invalid > 0) {
    options.stdout(`replay: ${formatCounts(counts)}; --strict: nothing written`);
    return { counts, upstreamCount: 0, serverCount: 0, exitCode: 1 };
  }

  // The derivation takes a name or an ARN, like --cluster.
  const derived = model.derive(
    store.snapshot(),
    options.cluster === undefined ? {} : { clusterArn: options.cluster },
  );
  const rendered = renderUpstreams(derived.upstreams, { logger: options.logger ?? silentLogger });
  for (const skipped of rendered.skipped) {
    options.stderr(`upstream ${JSON.stringify(skipped.name)} skipped: ${skipped.reason}`);
  }
  const path = join(resolve(options.outDir), UPSTREAMS_FILE_NAME);
  try {
    await mkdir(dirname(path), { recursive: true });
    // The runner's atomic write (temp file, fsync, rename): a reader never sees half a file.
    await writeFileAtomic(path, rendered.text);
  } catch (error) {
    const cause = (error as { cause?: unknown }).cause ?? error;
    throw new ReplayOutputError(`cannot write ${describeFsError(path, cause)}`, { cause: error });
  }

  const pending = [
    derived.awaitingHealth?.length ? `${derived.awaitingHealth.length} awaiting health` : '',
    derived.unresolved?.length ? `${derived.unresolved.length} unresolved` : '',
  ].filter((part) => part !== '');
  options.stdout(
    `replay: ${formatCounts(counts)}; ${rendered.upstreamCount} upstreams, ${rendered.serverCount} servers written to ${path}` +
      (pending.length > 0 ? ` (${pending.join(', ')})` : ''),
  );
  return {
    counts,
    path,
    hash: rendered.hash,
    upstreamCount: rendered.upstreamCount,
    serverCount: rendered.serverCount,
    exitCode: 0,
  };
}

/** 128 + the signal's number (the shell's convention): 130 for SIGINT, 143 for SIGTERM; else 130. */
export function signalExitCode(reason: unknown): number {
  const number = typeof reason === 'string' ? osConstants.signals[reason as NodeJS.Signals] : undefined;
  return 128 + (number ?? osConstants.signals.SIGINT);
}

/** `--out` could not be written (a full disk, no permission): exit code 1, the path named. */
class ReplayOutputError extends EcsIngressError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ECS_INGRESS_REPLAY_OUTPUT_FAILED', message, options);
  }
}
