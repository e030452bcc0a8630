import { describe, expect, it } from 'vitest';
import { backoffDelay } from './backoff.js';

describe('backoffDelay', () => {
  const policy = { initialMs: 100, maxMs: 1_000 };

  it.each([
    [1, 100],
    [2, 200],
    [3, 400],
    [4, 800],
    [5, 1_000],
    [40, 1_000],
    // "Wait the longest": a problem retrying soon cannot fix.
    [Number.POSITIVE_INFINITY, 1_000],
  ])('attempt %i: at most the base %i ms', (attempt, base) => {
    expect(backoffDelay(attempt, policy, () => 1)).toBe(base);
  });

  it.each([1, 2, 3, 4, 10])('attempt %i: at least half the base (never zero)', (attempt) => {
    const high = backoffDelay(attempt, policy, () => 1);
    expect(backoffDelay(attempt, policy, () => 0)).toBe(high / 2);
  });

  it('spreads retries between half and all of the base', () => {
    const delays = [0.1, 0.5, 0.9].map((r) => backoffDelay(3, policy, () => r));
    expect(delays).toEqual([220, 300, 380]);
  });

  it('treats attempt 0 (or less) as the first retry and a cap below the initial delay as the initial delay', () => {
    expect(backoffDelay(0, policy, () => 1)).toBe(100);
    expect(backoffDelay(3, { initialMs: 500, maxMs: 100 }, () => 1)).toBe(500);
  });

  it('uses Math.random by default, within bounds', () => {
    for (let i = 0; i < 50; i++) {
      const delay = backoffDelay(2, policy);
      expect(delay).toBeGreaterThanOrEqual(100);
      expect(delay).toBeLessThanOrEqual(200);
    }
  });
});
