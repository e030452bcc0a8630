import { describe, expect, it } from 'vitest';
import { RestartPolicy } from './restart-policy.js';

const backoff = { initialMs: 100, maxMs: 500, maxRestartsInWindow: 4, windowMs: 10_000 };

describe('RestartPolicy', () => {
  it('doubles the delay up to maxMs, then gives up past maxRestartsInWindow', () => {
    const policy = new RestartPolicy(backoff, () => 1);
    const decisions = [0, 1, 2, 3, 4].map((i) => policy.onCrash(1_000 + i));
    expect(decisions).toEqual([
      { action: 'restart', delayMs: 100, attempt: 1 },
      { action: 'restart', delayMs: 200, attempt: 2 },
      { action: 'restart', delayMs: 400, attempt: 3 },
      { action: 'restart', delayMs: 500, attempt: 4 },
      { action: 'give-up', restartsInWindow: 4 },
    ]);
  });

  it.each([
    ['inside the window', 1_000 + 9_999, 'give-up'],
    ['after the window', 1_000 + 10_000, 'restart'],
  ])('a crash %s', (_name, at, action) => {
    const policy = new RestartPolicy(backoff, () => 1);
    for (let i = 0; i < 4; i += 1) policy.onCrash(1_000);
    expect(policy.onCrash(at).action).toBe(action);
  });

  it('starts over after reset()', () => {
    const policy = new RestartPolicy(backoff, () => 1);
    for (let i = 0; i < 4; i += 1) policy.onCrash(1_000);
    policy.reset();
    expect(policy.onCrash(1_001)).toEqual({ action: 'restart', delayMs: 100, attempt: 1 });
  });
});
