/**
 * The replay source: a JSONL recording (DESIGN.md "Sources → replay"), one EventBridge event or
 * ecs-ingress observation per line, read as a stream so a recording of any size replays in constant
 * memory.
 *
 * The clock of a replay is the RECORDED one: an event's envelope `time`, a snapshot's `startedAt`.
 * Nothing here reads the wall clock except the pacer's sleeps, so an offline replay (`--out`) is
 * deterministic and a live one (`--nginx`) keeps the recording's rhythm.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { EventParseError, type ParsedEnvelope, parseEventBody } from '@ecs-ingress/types';
import type { Observable } from 'rxjs';
import { from } from 'rxjs';
import { clusterMatches } from './cluster-name.js';
import { abortableSleep } from './sleep.js';

/** A line that parsed. */
export interface ReplayEventLine {
  readonly kind: 'event';
  /** 1-based line number in the file (blank lines count, so it matches an editor's). */
  readonly lineNo: number;
  readonly envelope: ParsedEnvelope;
  /** The line's recorded time (envelope `time`, or the snapshot's `startedAt`), epoch ms. */
  readonly at?: number;
}

/** A line that parsed but names a cluster other than the one asked for (`--cluster`). */
export interface ReplaySkippedLine {
  readonly kind: 'other-cluster';
  readonly lineNo: number;
  readonly envelope: ParsedEnvelope;
  readonly at?: number;
}

/** A line that did not parse: the replay reports it and goes on. */
export interface ReplayInvalidLine {
  readonly kind: 'invalid';
  readonly lineNo: number;
  readonly error: EventParseError;
  /** The line as read (for the report; may be long, callers truncate). */
  readonly raw: string;
}

export type ReplayLine = ReplayEventLine | ReplaySkippedLine | ReplayInvalidLine;

export interface ReadRecordingOptions {
  /**
   * Keep one cluster: an ARN matches exactly, a name matches the last path segment of the ARN.
   * Lines that name no cluster (task definitions, container instances) always pass.
   */
  readonly cluster?: string;
  /** Ends the reading (a file path input): the iteration then stops, or rejects with an AbortError. */
  readonly signal?: AbortSignal;
}

/**
 * Reads a recording line by line. Blank (whitespace-only) lines are skipped but counted in
 * `lineNo`. Never throws for a bad line; an unreadable file rejects the iteration.
 * @param input a file path or a readable stream of UTF-8 text
 */
export async function* readRecording(
  input: string | Readable,
  options: ReadRecordingOptions = {},
): AsyncGenerator<ReplayLine> {
  const signal = options.signal === undefined ? {} : { signal: options.signal };
  // A signal also unblocks a read that waits for data (a FIFO, a slow disk).
  const stream = typeof input === 'string' ? createReadStream(input, { encoding: 'utf8', ...signal }) : input;
  // crlfDelay: Infinity treats \r\n as one break, so a recording edited on Windows replays the same.
  const lines = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY, ...signal });
  let lineNo = 0;
  try {
    for await (const raw of lines) {
      lineNo += 1;
      const line = lineNo === 1 ? stripBom(raw) : raw;
      if (line.trim() === '') continue;
      yield parseRecordingLine(line, lineNo, options);
    }
  } finally {
    lines.close();
    if (typeof input === 'string') stream.destroy();
  }
}

/** One line → a `ReplayLine` (pure; exposed for tests and for callers that already split lines). */
export function parseRecordingLine(
  line: string,
  lineNo: number,
  options: ReadRecordingOptions = {},
): ReplayLine {
  let envelope: ParsedEnvelope;
  try {
    envelope = parseEventBody(line);
  } catch (error) {
    const parseError =
      error instanceof EventParseError
        ? error
        : new EventParseError('unexpected', `unexpected parser failure: ${String(error)}`, { cause: error });
    return { kind: 'invalid', lineNo, error: parseError, raw: line };
  }
  const at = recordedTime(envelope);
  const kind =
    options.cluster !== undefined &&
    envelope.clusterArn !== undefined &&
    !clusterMatches(options.cluster, envelope.clusterArn)
      ? 'other-cluster'
      : 'event';
  return at === undefined ? { kind, lineNo, envelope } : { kind, lineNo, envelope, at };
}

/**
 * The recorded time of a line: a snapshot's `startedAt` (the listing's own clock, which the store's
 * merge rule compares with), else the envelope `time` (for observations without one, the parser's
 * fallback, e.g. a described task's `updatedAt`).
 */
export function recordedTime(envelope: ParsedEnvelope): number | undefined {
  const first = envelope.events[0];
  if (first?.kind === 'snapshot') return first.startedAt;
  return envelope.time;
}

/** How fast a live replay runs: a factor of the recorded pace (2 = twice as fast), or no waiting. */
export type ReplaySpeed = number | 'instant';

export interface PaceOptions {
  readonly speed: ReplaySpeed;
  /** Stops the replay between lines (the iteration ends; no error). */
  readonly signal?: AbortSignal;
  /** Waits `ms` (tests inject a fake). Default: a timer that the signal cancels. */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /**
   * Cap on one wait in recorded ms before speed is applied, so a recording with an hour of silence
   * does not stall a demo. Default: no cap.
   */
  readonly maxGapMs?: number;
}

/** A line released by the pacer, with the replay clock when it was released. */
export type PacedLine = ReplayLine & {
  /** The replay clock: the highest recorded time seen so far (undefined before the first timed line). */
  readonly clock?: number;
};

/**
 * Releases lines at the recorded pace × `speed`. Waits are between the replay clock (the highest
 * recorded time so far) and the next line's time, so an out-of-order line (an older time, as ECS
 * delivers them) is released at once rather than rewinding the clock; invalid and untimed lines
 * are released at once.
 */
export async function* paceRecording(
  lines: AsyncIterable<ReplayLine>,
  options: PaceOptions,
): AsyncGenerator<PacedLine> {
  const { speed, signal } = options;
  if (speed !== 'instant' && !(Number.isFinite(speed) && speed > 0)) {
    throw new RangeError(`replay speed must be a positive number or 'instant', got ${String(speed)}`);
  }
  const sleep = options.sleep ?? abortableSleep;
  let clock: number | undefined;
  for await (const line of lines) {
    if (signal?.aborted) return;
    const at = line.kind === 'invalid' ? undefined : line.at;
    if (at !== undefined) {
      if (clock !== undefined && at > clock && speed !== 'instant') {
        const gap = Math.min(at - clock, options.maxGapMs ?? Number.POSITIVE_INFINITY);
        await sleep(gap / speed, signal);
        if (signal?.aborted) return;
      }
      clock = clock === undefined ? at : Math.max(clock, at);
    }
    yield clock === undefined ? line : { ...line, clock };
  }
}

/** `readRecording` then `paceRecording`, as an rxjs Observable (what the runtime subscribes to). */
export function replayRecording$(
  input: string | Readable,
  options: ReadRecordingOptions & PaceOptions,
): Observable<PacedLine> {
  return from(paceRecording(readRecording(input, options), options));
}

function stripBom(line: string): string {
  return line.charCodeAt(0) === 0xfeff ? line.slice(1) : line;
}
