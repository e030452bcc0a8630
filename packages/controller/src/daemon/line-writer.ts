/**
 * A JSONL file written one line at a time with a synchronous write per line, so every line is in
 * the kernel's page cache the moment `write` returns: a recorder killed with SIGKILL loses nothing
 * it reported as written, and a queue message is deleted only after its line is written.
 */
import { closeSync, openSync, writeSync } from 'node:fs';

export class LineWriter {
  private fd: number | undefined;
  private count = 0;

  constructor(readonly path: string) {
    this.fd = openSync(path, 'w');
  }

  /** Lines written so far. */
  get lines(): number {
    return this.count;
  }

  /** Writes `line` (which must hold no line break) and a newline. */
  write(line: string): void {
    if (this.fd === undefined) throw new Error(`${this.path}: write after close`);
    const data = Buffer.from(`${line}\n`, 'utf8');
    let offset = 0;
    // writeSync may write less than asked (pipes, signals); loop until all of it is out.
    while (offset < data.length) offset += writeSync(this.fd, data, offset);
    this.count += 1;
  }

  close(): void {
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
  }
}

/**
 * An SQS body as one JSONL line. Bodies are written exactly as received; a JSON body that spans
 * lines (pretty-printed by a hand-made publisher) is re-serialised onto one line, which keeps its
 * meaning; a non-JSON body with a line break becomes a JSON string (it is invalid either way, and
 * replay reports it as such).
 */
export function bodyAsLine(body: string): string {
  if (!/[\r\n]/.test(body)) return body;
  try {
    return JSON.stringify(JSON.parse(body));
  } catch {
    return JSON.stringify(body);
  }
}
