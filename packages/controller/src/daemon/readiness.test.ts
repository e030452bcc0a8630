import { Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { type ServingRuntime, untilServing } from './readiness.js';

/** A runtime that serves `applied` (a state number) and applies `pending` on flush once allowed. */
function fakeRuntime(options: { applyOnFlush: boolean }) {
  const applied$ = new Subject<unknown>();
  const rt = {
    applied: 0,
    pending: 0,
    flushes: 0,
    reconciling: Promise.resolve(),
    applied$,
    async flush() {
      rt.flushes++;
      if (options.applyOnFlush) rt.applied = rt.pending;
    },
    serves: (state: number) => rt.applied === state,
  };
  return rt satisfies ServingRuntime<number>;
}

describe('untilServing', () => {
  it('is true at once when the flush puts the current state live', async () => {
    const rt = fakeRuntime({ applyOnFlush: true });
    rt.pending = 7;
    await expect(
      untilServing(
        rt,
        () => 7,
        () => false,
      ),
    ).resolves.toBe(true);
    expect(rt.flushes).toBe(1);
  });

  it('waits while NGINX serves an older config (the last known good), until the sync’s render is applied', async () => {
    const rt = fakeRuntime({ applyOnFlush: false });
    rt.applied = 1; // last known good
    let settled = false;
    const done = untilServing(
      rt,
      () => 2,
      () => false,
      10,
    ).then((v) => {
      settled = true;
      return v;
    });
    await new Promise((r) => setTimeout(r, 50));
    expect(settled).toBe(false);
    expect(rt.flushes).toBeGreaterThan(1);
    rt.applied = 2;
    rt.applied$.next({});
    await expect(done).resolves.toBe(true);
  });

  it('is false when stopping comes first', async () => {
    const rt = fakeRuntime({ applyOnFlush: false });
    let stopping = false;
    const done = untilServing(
      rt,
      () => 2,
      () => stopping,
      10,
    );
    setTimeout(() => {
      stopping = true;
    }, 30);
    await expect(done).resolves.toBe(false);
  });
});
