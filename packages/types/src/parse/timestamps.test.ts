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
