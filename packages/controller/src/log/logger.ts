import { ConfigError, type Logger } from '@ecs-ingress/types';
import { type DestinationStream, type LogFn as PinoLogFn, pino } from 'pino';
import { errorFields } from './error-fields.js';

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LEVELS)[number];

/** The environment variable that sets the log level (default `info`). */
export const LOG_LEVEL_ENV = 'ECS_INGRESS_LOG_LEVEL';

/**
 * `code` of an error line whose caller gave none (and whose `err` carries none). Searching the logs
 * for it finds the call sites that break the convention.
 */
export const UNCLASSIFIED_ERROR_CODE = 'ECS_INGRESS_UNCLASSIFIED';

/**
 * `code` of NGINX's own error-level lines (error log, `nginx -t` output) forwarded by the runner:
 * NGINX has no codes, so they share one; `nginxLevel` keeps emerg/alert/crit/error apart.
 */
export const NGINX_LOG_ERROR_CODE = 'ECS_INGRESS_NGINX_LOG_ERROR';

/** pino's numeric value of `error`; `fatal` is 60. */
const PINO_ERROR_LEVEL = 50;

export function isLogLevel(value: string): value is LogLevel {
  return (LEVELS as readonly string[]).includes(value);
}

/**
 * The level named by `ECS_INGRESS_LOG_LEVEL`, `info` when unset or empty.
 * @throws ConfigError naming the variable when the value is not a level.
 */
export function logLevelFromEnv(env: Readonly<Record<string, string | undefined>> = process.env): LogLevel {
  const raw = env[LOG_LEVEL_ENV]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return 'info';
  if (!isLogLevel(raw)) throw new ConfigError(LOG_LEVEL_ENV, `"${raw}" is not one of ${LEVELS.join(', ')}`);
  return raw;
}

export interface CreateLoggerOptions {
  /** Default `info`; take it from `logLevelFromEnv()`. */
  level?: LogLevel;
  /** File descriptor written synchronously (default 1, stdout). Ignored when `stream` is set. */
  destination?: number;
  /** Any sink with `write(line)` (tests capture lines with it). */
  stream?: DestinationStream;
}

/**
 * One JSON object per line on stdout, `{ level, time, app, component?, code?, msg, ... }`.
 *
 * Conventions (the hook below enforces the last one):
 * - child loggers carry `component` (`nginx-runner`, `reconciler`, `http`…); NGINX's own lines are
 *   forwarded through the runner's `child({ component: 'nginx' })` with `nginxLevel` and `stream`;
 * - an error is logged as `logger.error({ code: err.code, err }, msg)`, or with `errorFields(err)`
 *   when the error must not carry its stack;
 * - below `error` (a retry, a warning) an `err` is logged without its stack (`errorFields`): a
 *   source that retries every few seconds must not print a stack each time; it goes out as
 *   `error: { code, message, name?, cause? }`; error lines keep `err` with its stack;
 * - every `error`/`fatal` line carries `code`: when the caller gave none, it is taken from
 *   `err.code`, else NGINX's lines get `ECS_INGRESS_NGINX_LOG_ERROR` and any other line
 *   `ECS_INGRESS_UNCLASSIFIED`.
 *
 * Synchronous writes so a crash never eats the last line.
 */
export function createLogger(options: CreateLoggerOptions = {}): Logger {
  const destination = options.stream ?? pino.destination({ dest: options.destination ?? 1, sync: true });
  const root = pino(
    {
      level: options.level ?? 'info',
      base: { app: 'ecs-ingress' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      hooks: {
        logMethod(args, method, level) {
          if (level < PINO_ERROR_LEVEL) {
            method.apply(this, withoutStack(args) as Parameters<PinoLogFn>);
            return;
          }
          const component = this.bindings().component;
          method.apply(this, withErrorCode(args, component) as Parameters<PinoLogFn>);
        },
      },
    },
    destination,
  );
  // pino appends a child's bindings to its parent's as text, so a part handed a logger that already
  // names a component (the recorder's, passed on to the poller) would print `component` twice. A
  // child that names a component is made from the root with the merged bindings instead: the
  // innermost component wins, the other bindings stay.
  const childOf = root.child;
  root.child = function child(this: typeof root, bindings, childOptions) {
    if (this === root || !('component' in bindings)) return childOf.call(this, bindings, childOptions);
    const merged = { ...this.bindings(), ...bindings };
    return childOf.call(root, merged, { level: this.level, ...childOptions });
  } as typeof root.child;
  return root as unknown as Logger;
}

/** The arguments of a call below error level, an `err` (or an Error first argument) as `error` fields without stack. */
function withoutStack(args: unknown[]): unknown[] {
  const [first, ...rest] = args;
  // Under `error`, not `err`: pino's err serializer would take the fields for an error again.
  if (first instanceof Error) return [{ error: errorFields(first) }, ...rest];
  if (typeof first === 'object' && first !== null && (first as { err?: unknown }).err !== undefined) {
    const { err, ...fields } = first as Record<string, unknown>;
    return [{ ...fields, error: errorFields(err) }, ...rest];
  }
  return args;
}

/** The arguments of an error-level call, with `code` added to the merge object when missing. */
function withErrorCode(args: unknown[], component: unknown): unknown[] {
  const [first, ...rest] = args;
  const fallback = component === 'nginx' ? NGINX_LOG_ERROR_CODE : UNCLASSIFIED_ERROR_CODE;
  if (first instanceof Error) {
    // pino's `logger.error(err, msg)` form: keep the error under `err` so its serializer runs.
    return [{ code: codeOf(first) ?? fallback, err: first }, ...rest];
  }
  if (typeof first === 'object' && first !== null) {
    const fields = first as Record<string, unknown>;
    if (typeof fields.code === 'string' && fields.code !== '') return args;
    return [{ ...fields, code: codeOf(fields.err) ?? fallback }, ...rest];
  }
  return [{ code: fallback }, ...args];
}

/** A usable `code` of an error-like value (Node's are strings, a few libraries use numbers). */
export function codeOf(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const code = (value as { code?: unknown }).code;
  if (typeof code === 'string' && code !== '') return code;
  if (typeof code === 'number') return String(code);
  return undefined;
}
