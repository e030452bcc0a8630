import { codeOf, UNCLASSIFIED_ERROR_CODE } from './logger.js';

/** An error as log fields: no stack, the cause chain kept, a `code` always present. */
export interface ErrorFields {
  /** The error's stable code (`ECS_INGRESS_*`, or Node's `ENOENT`…); `ECS_INGRESS_UNCLASSIFIED` when it has none. */
  readonly code: string;
  readonly message: string;
  /** The class name when it says more than `Error` (AWS SDK errors: `ThrottlingException`…). */
  readonly name?: string;
  readonly cause?: ErrorFields;
}

/**
 * Causes followed at most this deep: our errors wrap one or two levels (apply → runner → execa), and
 * a log line must stay bounded even for a pathological chain.
 */
const MAX_CAUSE_DEPTH = 4;

/**
 * `{ code, message, name?, cause? }` of anything thrown, for `logger.error({ ...errorFields(err) }, msg)`
 * or for JSON bodies. Non-errors (a thrown string) become their string form.
 */
export function errorFields(err: unknown): ErrorFields {
  return fieldsOf(err, 0, new Set());
}

function fieldsOf(err: unknown, depth: number, seen: Set<unknown>): ErrorFields {
  seen.add(err);
  const code = codeOf(err) ?? UNCLASSIFIED_ERROR_CODE;
  if (!(err instanceof Error)) return { code, message: messageOf(err) };
  const cause = err.cause;
  const withCause =
    cause !== undefined && depth < MAX_CAUSE_DEPTH && !seen.has(cause)
      ? { cause: fieldsOf(cause, depth + 1, seen) }
      : {};
  const name = err.name !== '' && err.name !== 'Error' ? { name: err.name } : {};
  return { code, message: err.message, ...name, ...withCause };
}

function messageOf(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null) {
    const message = (value as { message?: unknown }).message;
    if (typeof message === 'string') return message;
  }
  try {
    return String(value);
  } catch {
    // An object whose toString throws (or a null-prototype object) still gets a line.
    return Object.prototype.toString.call(value);
  }
}
