/**
 * Timestamps arrive in three shapes for the same field: the AWS SDK v3 hands out `Date` objects,
 * the ECS JSON 1.1 wire format (and our test server) carries epoch seconds as numbers (with a
 * fraction), and EventBridge events carry ISO-8601 strings. Everything becomes epoch ms here.
 */
import { EventParseError } from '../errors.js';

/**
 * Numbers below this are epoch seconds, at or above it epoch milliseconds. 1e11 s is the year 5138
 * and 1e11 ms is March 1973, so no timestamp ECS can produce falls on the wrong side.
 */
const SECONDS_MS_BOUNDARY = 1e11;

/** An ISO-8601 date must at least start with a full date; `Date.parse` alone accepts too much ("May 1"). */
const ISO_DATE_PREFIX = /^\d{4}-\d{2}-\d{2}/;
const NUMERIC = /^\d+(?:\.\d+)?$/;

/** Converts a `Date`, epoch seconds/ms number, numeric string or ISO string to epoch ms; `undefined` if it is none. */
export function toEpochMs(value: unknown): number | undefined {
  if (typeof value === 'string') {
    const text = value.trim();
    if (ISO_DATE_PREFIX.test(text)) {
      const ms = Date.parse(text);
      return Number.isNaN(ms) ? undefined : ms;
    }
    return NUMERIC.test(text) ? toEpochMs(Number(text)) : undefined;
  }
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) return undefined;
    return Math.round(value < SECONDS_MS_BOUNDARY ? value * 1000 : value);
  }
  if (value instanceof Date) {
    const ms = value.getTime();
    return Number.isNaN(ms) ? undefined : ms;
  }
  return undefined;
}

/**
 * An optional timestamp field: absent (`undefined`/`null`) gives `undefined`, anything present that
 * is not a timestamp is an error naming the field (`bad-timestamp:<prefix>.<name>`, or just
 * `<prefix>` when no name is given).
 */
export function readTimestamp(value: unknown, prefix: string, name?: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  const ms = toEpochMs(value);
  if (ms === undefined) {
    // The field path is only built on failure: this runs for every event on the hot path.
    const field = name === undefined ? prefix : prefix === '' ? name : `${prefix}.${name}`;
    throw new EventParseError(
      `bad-timestamp:${field}`,
      `${field} is not a timestamp (ISO-8601, epoch seconds or Date): ${describe(value)}`,
    );
  }
  return ms;
}

function describe(value: unknown): string {
  const text = typeof value === 'string' ? JSON.stringify(value) : String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
