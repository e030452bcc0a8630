/**
 * The part of a replay both modes share: each line of a recording is dispatched to the store, its
 * outcome counted, and each bad line reported with its number and reason.
 */

import type { DispatchOutcome, ReplayLine } from '@ecs-ingress/sources';
import type { ClusterEvent } from '@ecs-ingress/types';

/** The store as a replay uses it. */
export interface ReplaySink {
  dispatch(event: ClusterEvent): DispatchOutcome;
}

/** What a replay counts (the summary line). Every non-blank line lands in exactly one of the line counters. */
export interface ReplayCounts {
  /** Non-blank lines read. */
  linesRead: number;
  /** Lines the store applied (at least one of their events changed the state). */
  applied: number;
  /** Lines the store refused by version: older than, or equal to, what it holds. */
  staleOrDuplicate: number;
  /** Well-formed lines with nothing for the store: other detail types, other sources, other clusters. */
  ignored: number;
  /** Of `ignored`, lines of another cluster than `--cluster`. */
  otherCluster: number;
  /** Lines that did not parse, or that the store rejected as invalid. */
  invalid: number;
}

export function emptyCounts(): ReplayCounts {
  return { linesRead: 0, applied: 0, staleOrDuplicate: 0, ignored: 0, otherCluster: 0, invalid: 0 };
}

/** A bad line, as reported on stderr. */
export interface InvalidLineReport {
  readonly lineNo: number;
  readonly reason: string;
  readonly message: string;
}

/** Longest excerpt of a bad line in a report: enough to find it, never a whole 100 KB snapshot. */
const EXCERPT_CHARS = 80;

/** `line 12: invalid (not-json): message body is not JSON: … — {"source": ` */
export function formatInvalidLine(report: InvalidLineReport, raw?: string): string {
  const excerpt =
    raw === undefined ? '' : ` — ${raw.length > EXCERPT_CHARS ? `${raw.slice(0, EXCERPT_CHARS)}…` : raw}`;
  // A binary file's bytes (in the excerpt, and quoted by JSON.parse's message) must not reach the
  // terminal as control sequences.
  return withoutControlChars(
    `line ${report.lineNo}: invalid (${report.reason}): ${report.message}${excerpt}`,
  );
}

/** C0 (tab aside) and C1 control characters, and DEL: never in JSON text unescaped. */
function isControlChar(code: number): boolean {
  return (code < 0x20 && code !== 0x09) || (code >= 0x7f && code <= 0x9f);
}

/** `text` with each control character replaced by U+FFFD. */
function withoutControlChars(text: string): string {
  let out = '';
  for (const char of text) out += isControlChar(char.charCodeAt(0)) ? '\ufffd' : char;
  return out;
}

/** True when `raw` holds a control character or an undecodable byte (U+FFFD): a binary file. */
export function looksBinary(raw: string): boolean {
  for (const char of raw) {
    const code = char.charCodeAt(0);
    if (code === 0xfffd || (isControlChar(code) && code !== 0x0d)) return true;
  }
  return false;
}

/** Invalid lines reported one by one; past this (a binary file, a wrong file), only a count. */
const MAX_INVALID_REPORTS = 100;

/**
 * Reports invalid lines on `stderr`, the first `MAX_INVALID_REPORTS` one by one, and remembers
 * whether one looked binary. `finish()` prints how many more were not shown.
 */
export function invalidLineReporter(stderr: (line: string) => void) {
  let reported = 0;
  let binary = false;
  return {
    report(report: InvalidLineReport, raw?: string): void {
      if (raw !== undefined && looksBinary(raw)) binary = true;
      reported += 1;
      if (reported <= MAX_INVALID_REPORTS) stderr(formatInvalidLine(report, raw));
    },
    finish(): void {
      if (reported > MAX_INVALID_REPORTS)
        stderr(`… ${reported - MAX_INVALID_REPORTS} more invalid lines not shown`);
    },
    sawBinary: () => binary,
  };
}

/**
 * The outcome of a line from the outcomes of its events (a line carries one event today; a
 * multi-event line counts once, by its most significant outcome).
 */
function lineOutcome(outcomes: readonly DispatchOutcome[]): DispatchOutcome {
  for (const wanted of ['invalid', 'applied', 'stale', 'duplicate'] as const) {
    if (outcomes.includes(wanted)) return wanted;
  }
  return 'ignored';
}

/**
 * Dispatches one line and updates `counts`. Returns the line's outcome, and a report for a line
 * that was invalid (unparseable, or refused as invalid by the store).
 */
export function applyLine(
  sink: ReplaySink,
  line: ReplayLine,
  counts: ReplayCounts,
): { outcome: DispatchOutcome | 'other-cluster'; invalid?: InvalidLineReport } {
  counts.linesRead += 1;
  if (line.kind === 'invalid') {
    counts.invalid += 1;
    return {
      outcome: 'invalid',
      invalid: { lineNo: line.lineNo, reason: line.error.reason, message: line.error.message },
    };
  }
  if (line.kind === 'other-cluster') {
    counts.ignored += 1;
    counts.otherCluster += 1;
    return { outcome: 'other-cluster' };
  }
  const outcome = lineOutcome(line.envelope.events.map((event) => sink.dispatch(event)));
  switch (outcome) {
    case 'applied':
      counts.applied += 1;
      break;
    case 'stale':
    case 'duplicate':
      counts.staleOrDuplicate += 1;
      break;
    case 'ignored':
      counts.ignored += 1;
      break;
    case 'invalid':
      counts.invalid += 1;
      return {
        outcome,
        invalid: {
          lineNo: line.lineNo,
          reason: 'rejected-by-store',
          message: `the store refused this ${line.envelope.detailType} as invalid`,
        },
      };
  }
  return { outcome };
}

/** `59 lines read, 42 applied, 5 stale/duplicate, 12 ignored, 0 invalid` */
export function formatCounts(counts: ReplayCounts): string {
  const ignored =
    counts.otherCluster > 0
      ? `${counts.ignored} ignored (${counts.otherCluster} other cluster)`
      : `${counts.ignored} ignored`;
  return `${counts.linesRead} lines read, ${counts.applied} applied, ${counts.staleOrDuplicate} stale/duplicate, ${ignored}, ${counts.invalid} invalid`;
}
