import { BehaviorSubject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { ApplyGate } from './apply-gate.js';

describe('ApplyGate', () => {
  it('holds states back during an exclusive apply and re-emits only the newest afterwards', async () => {
    const source = new BehaviorSubject('s1');
    const gate = new ApplyGate(source);
    const seen: string[] = [];
    gate.state$.subscribe((s) => seen.push(s));
    expect(seen).toEqual(['s1']);

    const order: string[] = [];
    await gate.exclusive(
      async () => {
        order.push('drain');
      },
      async () => {
        order.push('apply');
        expect(gate.held).toBe(true);
        source.next('s2');
        source.next('s3');
        expect(seen).toEqual(['s1']);
      },
    );
    expect(order).toEqual(['drain', 'apply']);
    expect(gate.held).toBe(false);
    expect(seen).toEqual(['s1', 's3']);
  });

  it('does not re-emit a state the subscriber already saw', async () => {
    const source = new BehaviorSubject('s1');
    const gate = new ApplyGate(source);
    const seen: string[] = [];
    gate.state$.subscribe((s) => seen.push(s));
    await gate.exclusive(
      async () => {},
      async () => {},
    );
    expect(seen).toEqual(['s1']);
  });

  it('serialises exclusive applies and opens again when one throws', async () => {
    const gate = new ApplyGate(new BehaviorSubject(0));
    const events: string[] = [];
    let release!: () => void;
    const first = gate.exclusive(
      async () => {},
      () =>
        new Promise<void>((res) => {
          events.push('first-start');
          release = () => {
            events.push('first-end');
            res();
          };
        }),
    );
    const second = gate.exclusive(
      async () => {},
      async () => {
        events.push('second');
        throw new Error('refused');
      },
    );
    await new Promise((r) => setTimeout(r, 10));
    expect(events).toEqual(['first-start']);
    release();
    await first;
    await expect(second).rejects.toThrow('refused');
    expect(events).toEqual(['first-start', 'first-end', 'second']);
    expect(gate.held).toBe(false);
  });
});
