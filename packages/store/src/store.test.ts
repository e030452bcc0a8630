import { aTask, ignoredEvent, taskArn, taskEvent } from '@ecs-ingress/testkit';
import { describe, expect, it } from 'vitest';
import type { ReduceOutcome } from './reducer.js';
import { type ClusterState, emptyState, getTask } from './state.js';
import { ClusterStore } from './store.js';

describe('ClusterStore', () => {
  it('dispatches synchronously, emits new states, counts outcomes', () => {
    const seen: ReduceOutcome[] = [];
    const store = new ClusterStore({ onOutcome: (outcome) => seen.push(outcome) });
    const states: ClusterState[] = [];
    const subscription = store.state$.subscribe((s) => states.push(s));

    expect(store.dispatch(taskEvent(aTask({ version: 3 })))).toBe('applied');
    expect(store.dispatch(taskEvent(aTask({ version: 3 })))).toBe('duplicate');
    expect(store.dispatch(taskEvent(aTask({ version: 1 })))).toBe('stale');
    expect(store.dispatch(ignoredEvent())).toBe('ignored');

    expect(seen).toEqual(['applied', 'duplicate', 'stale', 'ignored']);
    expect(store.counts()).toEqual({ applied: 1, duplicate: 1, stale: 1, ignored: 1, invalid: 0 });
    // initial state + the applied one; duplicates, stale and a clock-neutral ignored emit nothing
    expect(states).toHaveLength(2);
    expect(getTask(store.snapshot(), taskArn('1'))?.task.version).toBe(3);
    subscription.unsubscribe();
  });

  it('starts from a given state and passes reducer options', () => {
    const initial = emptyState();
    const store = new ClusterStore({ initialState: initial, tombstoneTtlMs: 1000 });
    expect(store.snapshot()).toBe(initial);
    store.dispatch(taskEvent(aTask({ lastStatus: 'STOPPED' })));
    const result = store.dispatchWithResult(
      taskEvent(aTask({ taskArn: taskArn('2'), observedAt: aTask().observedAt + 1001 })),
    );
    expect(result.changed).toBe(true);
    expect(store.dispatch(taskEvent(aTask({ version: 2 })))).toBe('applied'); // tombstone expired
  });

  it('refuses dispatch after complete()', () => {
    const store = new ClusterStore();
    let completed = false;
    store.state$.subscribe({ complete: () => (completed = true) });
    store.complete();
    expect(completed).toBe(true);
    expect(() => store.dispatch(ignoredEvent())).toThrow(/after complete/);
  });
});
