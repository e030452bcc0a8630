/**
 * NGINX's error-log lines, parsed and forwarded into our JSON log stream.
 *
 * Two shapes reach us on stderr:
 * - the error log proper: `2024/05/01 12:00:00 [warn] 123#123: *7 message`
 *   (date, level, master or worker pid#tid, optional connection number, text);
 * - messages printed before the log is open, and by `nginx -t`: `nginx: [emerg] message`.
 * Anything else (e.g. an access log sent to /dev/stdout) is forwarded as is, at info.
 */
import type { Logger } from '@ecs-ingress/types';

/** NGINX's severity levels (ngx_log.h), most severe first. */
export type NginxLogLevel = 'emerg' | 'alert' | 'crit' | 'error' | 'warn' | 'notice' | 'info' | 'debug';

/** The pino levels our `Logger` offers. */
export type LoggerLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';

export interface NginxLogLine {
  /** The line without its trailing newline. */
  raw: string;
  /** Undefined when the line carries no `[level]` tag. */
  nginxLevel: NginxLogLevel | undefined;
  /** Pid that wrote it (master or a worker), when the line says. */
  pid: number | undefined;
  /** The text after the prefix (the whole line when there is no prefix). */
  message: string;
  stream: 'stdout' | 'stderr';
}

const ERROR_LOG_LINE = /^\d{4}\/\d{2}\/\d{2} \d{2}:\d{2}:\d{2} \[([a-z]+)\] (\d+)#\d+: (.*)$/;
const PRE_LOG_LINE = /^nginx: \[([a-z]+)\] (.*)$/;
const LEVELS: ReadonlySet<string> = new Set([
  'emerg',
  'alert',
  'crit',
  'error',
  'warn',
  'notice',
  'info',
  'debug',
]);

function asLevel(tag: string | undefined): NginxLogLevel | undefined {
  return tag !== undefined && LEVELS.has(tag) ? (tag as NginxLogLevel) : undefined;
}

export function parseNginxLogLine(raw: string, stream: 'stdout' | 'stderr' = 'stderr'): NginxLogLine {
  const full = ERROR_LOG_LINE.exec(raw);
  if (full) {
    const nginxLevel = asLevel(full[1]);
    if (nginxLevel) return { raw, nginxLevel, pid: Number(full[2]), message: full[3] ?? '', stream };
  }
  const early = PRE_LOG_LINE.exec(raw);
  if (early) {
    const nginxLevel = asLevel(early[1]);
    if (nginxLevel) return { raw, nginxLevel, pid: undefined, message: early[2] ?? '', stream };
  }
  return { raw, nginxLevel: undefined, pid: undefined, message: raw, stream };
}

/**
 * NGINX level → our level. emerg/alert/crit mean "this configuration or process is unusable", but
 * they do not make the controller itself unusable (a rejected reload leaves NGINX serving the old
 * config), so they map to `error`, never `fatal`; the original tag travels as `nginxLevel`.
 */
export function loggerLevelFor(level: NginxLogLevel | undefined): LoggerLevel {
  switch (level) {
    case 'emerg':
    case 'alert':
    case 'crit':
    case 'error':
      return 'error';
    case 'warn':
      return 'warn';
    case 'notice':
    case 'info':
    case undefined:
      return 'info';
    case 'debug':
      return 'debug';
  }
}

/** True for the lines that explain why NGINX refused a configuration or could not start. */
export function isFailureLine(line: NginxLogLine): boolean {
  return line.nginxLevel === 'emerg' || line.nginxLevel === 'alert' || line.nginxLevel === 'crit';
}

/**
 * A client asked for a file that is not there: NGINX answers 404 and logs `open() "…" failed
 * (2: No such file or directory)` (or `20: Not a directory`) at `[error]`, with the client and the
 * request. That is the client's mistake, already in the access log, not a fault of the proxy: such
 * lines are forwarded at `info`, without an error code, so that error-level alerting and log
 * searches for codes only see real faults. (`log_not_found off;` in a bundle silences them.)
 */
function isClientNotFoundLine(line: NginxLogLine): boolean {
  return (
    line.nginxLevel === 'error' &&
    / open\(\) ".*" failed \((2: No such file or directory|20: Not a directory)\), client: /.test(
      ` ${line.message}`,
    )
  );
}

/** Writes one parsed line to `logger` (which should already carry `{ component: 'nginx' }`). */
export function forwardNginxLine(logger: Logger, line: NginxLogLine): void {
  const fields: Record<string, unknown> = { stream: line.stream };
  if (line.nginxLevel !== undefined) fields.nginxLevel = line.nginxLevel;
  if (line.pid !== undefined) fields.nginxPid = line.pid;
  const level = isClientNotFoundLine(line) ? 'info' : loggerLevelFor(line.nginxLevel);
  logger[level](fields, line.message);
}

/** The emerg/alert/crit lines of an `nginx -t` (or any) output, verbatim. */
export function failureLinesOf(output: string): string[] {
  return output
    .split('\n')
    .filter((raw) => raw.length > 0)
    .map((raw) => parseNginxLogLine(raw))
    .filter(isFailureLine)
    .map((line) => line.raw);
}
