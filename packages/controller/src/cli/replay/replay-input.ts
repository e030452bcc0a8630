/**
 * The paths a replay is given, checked before anything runs, and the "nothing valid was read"
 * verdict after reading: a wrong file (a directory, a binary, a Markdown page) fails with a
 * message that names it and exit code 2, instead of an empty upstreams file and exit 0.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { EcsIngressError } from '@ecs-ingress/types';
import { describeFsError } from '../../daemon/startup-checks.js';
import type { ReplayCounts } from './apply-recording.js';

/** A path or a file given to `replay` that cannot be used. Exit code 2 (usage). */
export class ReplayInputError extends EcsIngressError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ECS_INGRESS_REPLAY_INPUT_INVALID', message, options);
  }
}

/** The recording exists and is a readable regular file (a FIFO such as /dev/stdin is fine too). */
export async function checkRecordingPath(file: string): Promise<void> {
  let kind: 'file' | 'directory' | 'other';
  try {
    const s = await stat(file);
    kind = s.isDirectory() ? 'directory' : s.isFile() || s.isFIFO() ? 'file' : 'other';
  } catch (error) {
    throw new ReplayInputError(`cannot read the recording: ${describeFsError(file, error)}`, {
      cause: error,
    });
  }
  if (kind === 'directory')
    throw new ReplayInputError(`the recording ${file} is a directory, not a JSONL file`);
  if (kind === 'other') throw new ReplayInputError(`the recording ${file} is not a regular file`);
}

/** `--out <dir>` is a directory or can be created, and `<dir>/<name>` is not a directory. */
export async function checkOutDir(dir: string, name: string): Promise<void> {
  const kind = await stat(dir).then(
    (s) => (s.isDirectory() ? 'directory' : 'other'),
    (error: unknown) => ((error as { code?: unknown }).code === 'ENOENT' ? 'missing' : error),
  );
  if (kind === 'other') throw new ReplayInputError(`--out ${dir}: exists and is not a directory`);
  if (kind instanceof Error)
    throw new ReplayInputError(`--out ${describeFsError(dir, kind)}`, { cause: kind });
  if (kind !== 'directory') return;
  const target = join(dir, name);
  const isDir = await stat(target).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (isDir)
    throw new ReplayInputError(`--out ${dir}: ${target} is a directory; remove it or choose another --out`);
}

/** Lines the store could make sense of: applied, stale or duplicate, or well-formed but ignored. */
function validLineCount(counts: ReplayCounts): number {
  return counts.applied + counts.staleOrDuplicate + counts.ignored;
}

/**
 * The error when nothing valid was read (an empty file, a binary, a document), else undefined.
 * @param sawBinary a line held a NUL or other control byte that no JSON text carries
 */
export function nothingValidError(
  file: string,
  counts: ReplayCounts,
  sawBinary: boolean,
): ReplayInputError | undefined {
  if (validLineCount(counts) > 0) return undefined;
  if (counts.linesRead === 0) return new ReplayInputError(`${file} is empty: nothing to replay`);
  const what = sawBinary ? ' (it looks like a binary file)' : '';
  return new ReplayInputError(
    `${file} is not a recording${what}: none of its ${counts.linesRead} lines is an ECS event or an ecs-ingress ` +
      'observation (JSONL, one object per line; see replay --help)',
  );
}
