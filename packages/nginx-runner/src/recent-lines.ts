/**
 * The last NGINX output lines, numbered, so a reload or a start can collect exactly the
 * `[emerg]`/`[alert]`/`[crit]` lines NGINX printed after a given moment. Bounded: NGINX can log a
 * lot (e.g. an access log on stdout), and only the recent failures matter.
 */
import { isFailureLine, type NginxLogLine } from './log-lines.js';

export class RecentNginxLines {
  private lines: { seq: number; line: NginxLogLine }[] = [];
  private lastSeq = 0;
  private lastAt = 0;

  constructor(private readonly limit = 1_000) {}

  /** Sequence number of the newest line; pass it to `failuresAfter` later. */
  get seq(): number {
    return this.lastSeq;
  }

  /** `Date.now()` when the newest line arrived (0 before any). */
  get lastLineAt(): number {
    return this.lastAt;
  }

  push(line: NginxLogLine): void {
    this.lastSeq += 1;
    this.lastAt = Date.now();
    this.lines.push({ seq: this.lastSeq, line });
    if (this.lines.length > this.limit) this.lines.splice(0, this.lines.length - this.limit);
  }

  /** The raw emerg/alert/crit lines that arrived after `seq`. */
  failuresAfter(seq: number): string[] {
    return this.lines.filter((l) => l.seq > seq && isFailureLine(l.line)).map((l) => l.line.raw);
  }
}
