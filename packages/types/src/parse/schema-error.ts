/**
 * Turns the first zod issue into an `EventParseError` whose `reason` names the field by its full
 * path from the top of the message (`missing-field:detail.taskArn`, `invalid-field:detail.version`),
 * so a log line or a replay report points at the exact spot.
 */
import type { z } from 'zod';
import { EventParseError } from '../errors.js';

/** Joins a path prefix (`detail`, `detail.tasks.3`, or empty) with a field path. */
export function joinPath(prefix: string, path: readonly PropertyKey[]): string {
  const tail = path.map(String).join('.');
  if (prefix === '') return tail;
  return tail === '' ? prefix : `${prefix}.${tail}`;
}

/** The value at `path` inside `input`, or `undefined` when any step is missing. */
function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let current = input;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}

/** Builds the error for a failed `safeParse` of `input` (which sits at `prefix` in the message). */
export function schemaError(
  error: z.ZodError,
  input: unknown,
  prefix: string,
  what: string,
): EventParseError {
  const issue = error.issues[0];
  const path = issue?.path ?? [];
  const where = joinPath(prefix, path);
  const value = valueAt(input, path);
  // A required field that is absent or null is "missing"; one that is there with the wrong type or
  // range is "invalid". Both keep the path, which is what an operator needs.
  const kind = value === undefined || value === null ? 'missing-field' : 'invalid-field';
  const label = where === '' ? what : `${what}: ${where}`;
  return new EventParseError(`${kind}:${where || '<root>'}`, `${label}: ${issue?.message ?? 'invalid'}`, {
    cause: error,
  });
}

/** True for a non-null, non-array object (what JSON calls an object). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Throws `not-an-object[:path]` unless `value` is a JSON object. */
export function requireRecord(value: unknown, path: string, what: string): Record<string, unknown> {
  if (isRecord(value)) return value;
  if (path !== '' && (value === undefined || value === null)) {
    throw new EventParseError(`missing-field:${path}`, `${what}: ${path} is missing`);
  }
  const reason = path === '' ? 'not-an-object' : `not-an-object:${path}`;
  const kind = Array.isArray(value) ? 'an array' : typeof value;
  throw new EventParseError(reason, `${what}: ${path || 'value'} must be a JSON object, got ${kind}`);
}
