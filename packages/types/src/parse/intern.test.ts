import { describe, expect, it } from 'vitest';
import { intern } from './intern.js';

describe('intern', () => {
  it('always returns a string equal to its argument, however the table slots are shared', () => {
    // 20,000 distinct strings through a 16,384-slot table: slots are reused and overwritten all the time.
    const wrong: string[] = [];
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 20_000; i++) {
        const value = `arn:aws:ecs:us-east-1:111122223333:task-definition/svc-${i % 9_973}:${i % 3}`;
        // A fresh copy each time (as JSON.parse makes one per event).
        const copy = JSON.parse(JSON.stringify(value)) as string;
        const result = intern(copy);
        if (result !== value) wrong.push(`${value} -> ${result}`);
      }
    }
    expect(wrong).toEqual([]);
    expect(intern('')).toBe('');
    expect(intern('x')).toBe('x');
  });
});
