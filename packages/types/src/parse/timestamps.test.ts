import { describe, expect, it } from 'vitest';
import { EventParseError } from '../errors.js';
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
    ['leap day of a century leap year', '2000-02-29T00:00:00.001Z', Date.UTC(2000, 1, 29, 0, 0, 0, 1)],
    ['the epoch as ISO', '1970-01-01T00:00:00.000Z', 0],
    ['before the epoch as ISO', '1969-12-31T23:59:59.999Z', -1],
    ['ISO with surrounding blanks', ' 2020-01-23T17:57:58.103Z\n', MS],
  ])('%s', (_label, input, expected) => {
    expect(toEpochMs(input)).toBe(expected);
  });

  it.each([
    ['word', 'yesterday'],
    ['loose date', 'May 1, 2020'],
    ['impossible ISO', '2020-13-45T00:00:00Z'],
    ['minute 60', '2023-01-10T10:60:00Z'],
    ['a letter among the digits', '2024-01-0xT00:00:00Z'],
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
