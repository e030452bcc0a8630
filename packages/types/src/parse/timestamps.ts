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
    const fast = parseIsoUtc(value);
    if (fast !== undefined) return fast;
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

const ZERO = 48;

/** Two or more ASCII digits at `start..end` of `s` as a number, or -1 when any is not a digit. */
function digits(s: string, start: number, end: number): number {
  let n = 0;
  for (let i = start; i < end; i++) {
    const d = s.charCodeAt(i) - ZERO;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

const DASH = 45;
const COLON = 58;
const DOT = 46;
const LETTER_T = 84;
const LETTER_Z = 90;
const DAY_MS = 86_400_000;
/** Days in each month of a common year. */
const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * Days from 1970-01-01 to the given proleptic Gregorian date (any year ≥ 0), by the usual
 * era arithmetic: a 400-year era has 146,097 days, and counting years from March puts the leap
 * day at the end of the year.
 */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}

function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

/**
 * Fast path for the exact shape EventBridge writes, `YYYY-MM-DDTHH:MM:SSZ` or `…SS.mmmZ`: profiling
 * showed `Date.parse` as the largest single cost of parsing a task event, and `Date.UTC` still a
 * visible one. Anything else (offsets, other fraction lengths, out-of-range fields, a day the month
 * does not have) returns `undefined` and goes to `Date.parse`.
 */
function parseIsoUtc(s: string): number | undefined {
  const length = s.length;
  if ((length !== 20 && length !== 24) || s.charCodeAt(length - 1) !== LETTER_Z) return undefined;
  if (
    s.charCodeAt(4) !== DASH ||
    s.charCodeAt(7) !== DASH ||
    s.charCodeAt(10) !== LETTER_T ||
    s.charCodeAt(13) !== COLON ||
    s.charCodeAt(16) !== COLON
  ) {
    return undefined;
  }
  const year = digits(s, 0, 4);
  const month = digits(s, 5, 7);
  const day = digits(s, 8, 10);
  const hour = digits(s, 11, 13);
  const minute = digits(s, 14, 16);
  const second = digits(s, 17, 19);
  let millis = 0;
  if (length === 24) {
    if (s.charCodeAt(19) !== DOT) return undefined;
    millis = digits(s, 20, 23);
  }
  // digits() gives -1 for a non-digit, which every lower bound below also rejects.
  if (
    year < 0 ||
    millis < 0 ||
    month < 1 ||
    month > 12 ||
    day < 1 ||
    hour < 0 ||
    hour > 23 ||
    minute < 0 ||
    minute > 59 ||
    second < 0 ||
    second > 59
  ) {
    return undefined;
  }
  const monthDays = month === 2 && isLeapYear(year) ? 29 : (MONTH_DAYS[month - 1] as number);
  if (day > monthDays) return undefined;
  return daysFromCivil(year, month, day) * DAY_MS + ((hour * 60 + minute) * 60 + second) * 1000 + millis;
}
