import { describe, expect, it } from 'vitest';
import { EventParseError } from '../errors.js';
import { seededRandom } from '../test-support/random.js';
import { readTimestamp, toEpochMs } from './timestamps.js';

const MS = Date.UTC(2020, 0, 23, 17, 57, 58, 103); // 2020-01-23T17:57:58.103Z

describe('toEpochMs', () => {
  it.each([
    ['Date (AWS SDK)', new Date(MS), MS],
    ['epoch seconds with fraction (JSON wire)', MS / 1000, MS],
    ['epoch seconds, integer', 1579802278, 1579802278000],
    ['epoch milliseconds', MS, MS],
    ['ISO with Z', '2020-01-23T17:57:58.103Z', MS],
    ['ISO without fraction', '2020-01-23T17:57:58Z', MS - 103],
    ['ISO with offset and microseconds (AWS CLI)', '2021-08-11T12:21:26.681000-04:00', 1628698886681],
    ['numeric string seconds', '1579802278.103', MS],
    ['zero', 0, 0],
  ])('%s', (_label, input, expected) => {
    expect(toEpochMs(input)).toBe(expected);
  });

  it.each([
    ['word', 'yesterday'],
    ['loose date', 'May 1, 2020'],
    ['impossible ISO', '2020-13-45T00:00:00Z'],
    ['negative', -5],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['invalid Date', new Date('nope')],
    ['boolean', true],
    ['object', {}],
  ])('rejects %s', (_label, input) => {
    expect(toEpochMs(input)).toBeUndefined();
  });
});

describe('toEpochMs on EventBridge timestamps (the fast path)', () => {
  it('agrees with Date.parse on random dates over years 0000–9999, month ends and leap days included', () => {
    const next = seededRandom(0x9e3779b9);
    const pad = (n: number, width: number) => String(n).padStart(width, '0');
    const checked: string[] = [];
    for (let i = 0; i < 20_000; i++) {
      const year = i % 4 === 0 ? [1900, 2000, 2024, 2100, 0, 9999][next(6)]! : next(10_000);
      const month = 1 + next(12);
      const day = 1 + next(31); // days the month lacks too: the fast path must leave them to Date.parse
      const time = `${pad(next(24), 2)}:${pad(next(60), 2)}:${pad(next(60), 2)}`;
      const text = `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}T${time}${i % 2 ? `.${pad(next(1000), 3)}` : ''}Z`;
      const reference = Date.parse(text);
      const expected = Number.isNaN(reference) ? undefined : reference;
      if (toEpochMs(text) !== expected) checked.push(`${text}: ${toEpochMs(text)} vs ${expected}`);
    }
    expect(checked).toEqual([]);
  });

  it.each([
    ['leap day of a leap year', '2024-02-29T12:00:00Z', Date.UTC(2024, 1, 29, 12)],
    ['leap day of a century leap year', '2000-02-29T00:00:00.001Z', Date.UTC(2000, 1, 29, 0, 0, 0, 1)],
    ['the epoch', '1970-01-01T00:00:00.000Z', 0],
    ['before the epoch', '1969-12-31T23:59:59.999Z', -1],
    ['last instant of a year', '2023-12-31T23:59:59.999Z', Date.UTC(2023, 11, 31, 23, 59, 59, 999)],
  ])('%s', (_label, text, expected) => {
    expect(toEpochMs(text)).toBe(expected);
  });

  it.each([
    ['29 February of a common year', '2023-02-29T00:00:00Z'],
    ['29 February of a century common year', '1900-02-29T00:00:00Z'],
    ['31 April', '2024-04-31T00:00:00Z'],
    ['hour 24', '2024-01-01T24:00:00Z'],
  ])('leaves %s to Date.parse, which judges it as for any other string', (_label, text) => {
    expect(toEpochMs(text)).toBe(Date.parse(text));
  });

  it('rejects a letter among the digits', () => {
    expect(toEpochMs('2024-01-0xT00:00:00Z')).toBeUndefined();
  });
});

describe('readTimestamp', () => {
  it('treats absent and null as absent', () => {
    expect(readTimestamp(undefined, 'time')).toBeUndefined();
    expect(readTimestamp(null, 'time')).toBeUndefined();
  });

  it('names the field in the error reason', () => {
    const error = (() => {
      try {
        readTimestamp('not a time', 'detail.updatedAt');
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(EventParseError);
    expect(error).toMatchObject({
      code: 'ECS_INGRESS_EVENT_INVALID',
      reason: 'bad-timestamp:detail.updatedAt',
    });
  });
});

describe('toEpochMs fast ISO path agrees with Date.parse', () => {
  it.each([
    '2020-01-23T17:57:58Z',
    '2020-01-23T17:57:58.103Z',
    '1999-12-31T23:59:59.999Z',
    '2024-02-29T00:00:00Z',
    '2023-02-29T00:00:00Z',
    '2023-04-31T12:00:00.000Z',
    '2023-00-10T00:00:00Z',
    '2023-01-10T24:00:00Z',
    '2023-01-10T10:60:00Z',
    '2023-01-1xT10:00:00Z',
    '2023-01-10T10:00:00.12Z',
  ])('%s', (text) => {
    const expected = Date.parse(text);
    expect(toEpochMs(text)).toBe(Number.isNaN(expected) ? undefined : expected);
  });
});
