/**
 * The logging interface every package takes by injection. It is the subset of pino's API we use,
 * so a pino logger is a `Logger`, and tests hand in a recording fake.
 */
export interface LogFn {
  (obj: Record<string, unknown>, msg?: string): void;
  (msg: string): void;
}

export interface Logger {
  trace: LogFn;
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  fatal: LogFn;
  /** A logger whose lines all carry `bindings` (e.g. `{ component: 'nginx' }`). */
  child(bindings: Record<string, unknown>): Logger;
}

/** A logger that drops everything (default for library code and unit tests). */
export const silentLogger: Logger = {
  trace: () => {},
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  fatal: () => {},
  child: () => silentLogger,
};
