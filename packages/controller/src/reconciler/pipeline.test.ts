import { Subject } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  type AppliedChange,
  type ApplyFailure,
  createReconciler,
  type Reconciler,
  type ReconcilerOptions,
} from './pipeline.js';
import type { ApplyResult, ApplyStage, ConfigApplier, RenderedConfig } from './types.js';

/** A state whose rendered bytes are `out`; `v` changes without changing the bytes. */
interface FakeState {
  readonly v: number;
  readonly out: string;
}

const render = (state: FakeState): RenderedConfig => ({
  hash: state.out,
  files: [{ path: 'upstreams.conf', content: state.out }],
  meta: state.v,
});

interface ApplyCall {
  readonly hash: string;
  readonly at: number;
  readonly changedSince: number;
}

/** An applier that takes `durationMs` of virtual time and fails for the hashes in `failOn`. */
function fakeApplier(durationMs: number, failOn: ReadonlyMap<string, ApplyStage> = new Map()) {
  const calls: ApplyCall[] = [];
  let running = 0;
  let maxConcurrent = 0;
  const applier: ConfigApplier = {
    apply(config, context) {
      calls.push({ hash: config.hash, at: Date.now(), changedSince: context.changedSince });
      running += 1;
      maxConcurrent = Math.max(maxConcurrent, running);
      const stage = failOn.get(config.hash);
      const result: ApplyResult =
        stage === undefined
          ? { ok: true, durationMs }
          : { ok: false, stage, error: new Error(`bad ${config.hash}`) };
      const settle = (): ApplyResult => {
        running -= 1;
        return result;
      };
      if (durationMs === 0) return Promise.resolve().then(settle);
      return new Promise((resolve) => setTimeout(() => resolve(settle()), durationMs));
    },
  };
  return { applier, calls, maxConcurrent: () => maxConcurrent };
}

interface Harness {
  readonly state$: Subject<FakeState>;
  readonly reconciler: Reconciler;
  readonly calls: ApplyCall[];
  readonly applied: AppliedChange[];
  readonly failures: ApplyFailure[];
  readonly maxConcurrent: () => number;
  /** Emits a state rendering to `out`, with a fresh version. */
  emit(out: string): void;
}

let current: Harness | undefined;
let version = 0;

function setup(
  options: {
    durationMs?: number;
    failOn?: ReadonlyMap<string, ApplyStage>;
    minMs?: number;
    maxMs?: number;
    minReloadIntervalMs?: number;
    startWhen?: Subject<void> | Promise<void>;
    render?: (state: FakeState) => RenderedConfig;
    quickChange?: ReconcilerOptions<FakeState>['quickChange'];
  } = {},
): Harness {
  const state$ = new Subject<FakeState>();
  const fake = fakeApplier(options.durationMs ?? 50, options.failOn);
  const reconciler = createReconciler<FakeState>({
    state$,
    render: options.render ?? render,
    applier: fake.applier,
    debounce: { minMs: options.minMs ?? 200, maxMs: options.maxMs ?? 2000 },
    minReloadIntervalMs: options.minReloadIntervalMs ?? 1000,
    ...(options.startWhen === undefined ? {} : { startWhen: options.startWhen }),
    ...(options.quickChange === undefined ? {} : { quickChange: options.quickChange }),
  });
  const applied: AppliedChange[] = [];
  const failures: ApplyFailure[] = [];
  reconciler.applied$.subscribe((change) => applied.push(change));
  reconciler.failures$.subscribe((failure) => failures.push(failure));
  current = {
    state$,
    reconciler,
    calls: fake.calls,
    applied,
    failures,
    maxConcurrent: fake.maxConcurrent,
    emit(out) {
      version += 1;
      state$.next({ v: version, out });
    },
  };
  return current;
}

const advance = (ms: number) => vi.advanceTimersByTimeAsync(ms);
/** Lets pending microtasks run (the deferred render, an apply due now) without moving fake time. */
async function microtasks(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}
const hashes = (calls: readonly { hash: string }[]) => calls.map((call) => call.hash);

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(0);
});

afterEach(async () => {
  const stopping = current?.reconciler.stop();
  await vi.runAllTimersAsync();
  await stopping;
  current = undefined;
  vi.useRealTimers();
});

describe('createReconciler: change detection', () => {
  it('1,000 different states within one second give at most 2 applies, ending on the latest', async () => {
    const h = setup();
    for (let i = 0; i < 1000; i += 1) {
      h.emit(`out-${i}`);
      await advance(1);
    }
    await advance(10_000);
    expect(h.calls.length).toBeGreaterThanOrEqual(1);
    expect(h.calls.length).toBeLessThanOrEqual(2);
    expect(h.reconciler.lastApplied()?.hash).toBe('out-999');
  });

  it('1,000 states that render the bytes already applied give no apply', async () => {
    const h = setup();
    h.reconciler.setInitialApplied('same');
    for (let i = 0; i < 1000; i += 1) {
      h.emit('same');
      await advance(1);
    }
    await advance(10_000);
    expect(h.calls).toEqual([]);
    expect(h.applied).toEqual([]);
  });

  it('no-op states after an apply add none', async () => {
    const h = setup();
    h.emit('a');
    await advance(5_000);
    for (let i = 0; i < 1000; i += 1) h.emit('a');
    await advance(10_000);
    expect(hashes(h.calls)).toEqual(['a']);
  });

  it('a change that reverts to the applied bytes before its debounce ends is never applied', async () => {
    const h = setup();
    h.reconciler.setInitialApplied('a');
    h.emit('b');
    await advance(100);
    h.emit('a');
    await advance(10_000);
    expect(h.calls).toEqual([]);
  });

  it('a state that fails to render is skipped and the next one is applied', async () => {
    const h = setup({
      render: (state) => {
        if (state.out === 'boom') throw new Error('render bug');
        return render(state);
      },
    });
    h.emit('boom');
    await advance(5_000);
    expect(h.calls).toEqual([]);
    h.emit('ok');
    await advance(5_000);
    expect(hashes(h.calls)).toEqual(['ok']);
  });
});

describe('createReconciler: debounce', () => {
  it('a burst then quiet applies once, minMs after the last change', async () => {
    const h = setup();
    for (let i = 0; i < 5; i += 1) {
      h.emit(`b${i}`);
      await advance(1);
    }
    // Last change at t=4, now t=5: nothing before t=204.
    await advance(198);
    expect(h.calls).toEqual([]);
    await advance(1);
    expect(h.calls).toEqual([{ hash: 'b4', at: 204, changedSince: 0 }]);
    await advance(10_000);
    expect(h.calls).toHaveLength(1);
  });

  it('a continuous stream still applies no later than maxMs after the first pending change', async () => {
    const h = setup({ durationMs: 10 });
    for (let t = 0; t <= 5_000; t += 100) {
      h.emit(`s${t}`);
      await advance(100);
    }
    await advance(10_000);
    expect(h.calls.length).toBeGreaterThanOrEqual(3);
    expect(h.calls[0]?.at).toBe(2_000);
    for (const call of h.calls) expect(call.at - call.changedSince).toBeLessThanOrEqual(2_000);
    expect(h.reconciler.lastApplied()?.hash).toBe('s5000');
  });

  it.each([
    { minReloadIntervalMs: 0, secondAt: 110 },
    { minReloadIntervalMs: 500, secondAt: 560 },
    { minReloadIntervalMs: 1_000, secondAt: 1_060 },
  ])(
    'spaces applies by minReloadIntervalMs=$minReloadIntervalMs from the end of the previous one',
    async ({ minReloadIntervalMs, secondAt }) => {
      const h = setup({ minMs: 10, maxMs: 10, minReloadIntervalMs, durationMs: 50 });
      h.emit('a'); // applies at 10, ends at 60
      await advance(100);
      h.emit('b'); // due at 110
      await advance(5_000);
      expect(h.calls.map((call) => [call.hash, call.at])).toEqual([
        ['a', 10],
        ['b', secondAt],
      ]);
    },
  );
});

describe('createReconciler: one apply in flight', () => {
  it.each([
    { during: ['b', 'c', 'd'], expected: ['a', 'd'] },
    { during: ['b', 'a'], expected: ['a'] },
    { during: ['a', 'a'], expected: ['a'] },
    { during: [], expected: ['a'] },
  ])('changes $during during the apply of a give applies $expected', async ({ during, expected }) => {
    const h = setup({ durationMs: 500 });
    h.emit('a');
    await advance(200); // apply of a starts at 200, ends at 700
    expect(hashes(h.calls)).toEqual(['a']);
    for (const out of during) {
      await advance(100);
      h.emit(out);
    }
    await advance(10_000);
    expect(hashes(h.calls)).toEqual(expected);
    expect(h.maxConcurrent()).toBe(1);
    expect(h.reconciler.lastApplied()?.hash).toBe(expected.at(-1));
  });

  it('the follow-up waits for the apply in flight and for the reload spacing', async () => {
    const h = setup({ durationMs: 500 });
    h.emit('a');
    await advance(300);
    h.emit('b');
    await advance(10_000);
    expect(h.calls.map((call) => [call.hash, call.at])).toEqual([
      ['a', 200],
      ['b', 1_700], // a ended at 700, + 1,000 ms spacing
    ]);
  });

  it('counts renders as changed only when they differ from what is applied, in flight or pending', async () => {
    const state$ = new Subject<FakeState>();
    const renders: boolean[] = [];
    const outcomes: [string, boolean][] = [];
    const reconciler = createReconciler<FakeState>({
      state$,
      render,
      applier: fakeApplier(500).applier,
      metrics: {
        onRender: (changed) => renders.push(changed),
        onApply: (outcome) => outcomes.push([outcome.hash, outcome.ok]),
      },
    });
    current = undefined;
    state$.next({ v: 1, out: 'a' }); // changed
    await microtasks();
    state$.next({ v: 2, out: 'a' }); // same as pending
    await advance(300); // a in flight
    state$.next({ v: 3, out: 'a' }); // same as in flight
    await microtasks();
    state$.next({ v: 4, out: 'b' }); // changed
    await advance(5_000);
    state$.next({ v: 5, out: 'b' }); // same as applied
    await microtasks();
    expect(renders).toEqual([true, false, false, true, false]);
    expect(outcomes).toEqual([
      ['a', true],
      ['b', true],
    ]);
    await reconciler.stop();
  });

  it('renders a synchronous burst of states once, after the code that emitted it', async () => {
    const state$ = new Subject<FakeState>();
    const rendered: number[] = [];
    const reconciler = createReconciler<FakeState>({
      state$,
      render: (state) => {
        rendered.push(state.v);
        return render(state);
      },
      applier: fakeApplier(5).applier,
    });
    current = undefined;
    for (let v = 1; v <= 10; v++) state$.next({ v, out: `o${v}` });
    expect(rendered).toEqual([]); // nothing rendered while the burst is being dispatched
    await microtasks();
    expect(rendered).toEqual([10]); // the latest state, once
    state$.next({ v: 11, out: 'o11' });
    const flushing = reconciler.flush(); // renders what is waiting before it decides
    expect(rendered).toEqual([10, 11]);
    await advance(1_000);
    await flushing;
    expect(reconciler.lastApplied()?.hash).toBe('o11');
    await reconciler.stop();
  });

  it('in a storm, spaces renders by 4 × the last render’s duration, and renders the latest state last', async () => {
    const state$ = new Subject<FakeState>();
    const renderedAt: number[] = [];
    const reconciler = createReconciler<FakeState>({
      state$,
      render: (state) => {
        renderedAt.push(Date.now());
        vi.setSystemTime(Date.now() + 5); // a render of a large cluster: 5 ms
        return render(state);
      },
      applier: fakeApplier(0).applier,
    });
    current = undefined;
    let last = '';
    for (let t = 0; t < 100; t += 2) {
      last = `o${t}`;
      state$.next({ v: t, out: last }); // one batch every 2 ms
      await advance(2);
    }
    await advance(5_000);
    const gaps = renderedAt.slice(1).map((at, i) => at - renderedAt[i]!);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(25); // 5 ms render + 4 × 5 ms
    expect(renderedAt.length).toBeLessThan(10); // instead of 50
    expect(reconciler.lastApplied()?.hash).toBe(last);
    await reconciler.stop();
  });

  it('reports latency from the first pending change to the end of the apply', async () => {
    const h = setup({ durationMs: 50 });
    h.emit('a');
    await advance(100);
    h.emit('b');
    await advance(5_000);
    expect(h.applied).toHaveLength(1);
    expect(h.applied[0]).toMatchObject({ hash: 'b', at: 350, durationMs: 50, latencyMs: 350, meta: version });
  });
});

describe('createReconciler: failures', () => {
  it('a failed apply is not recorded, not retried for the same bytes, and retried on a new render', async () => {
    const h = setup({ failOn: new Map([['b', 'test']]) });
    h.emit('a');
    await advance(5_000);
    h.emit('b');
    await advance(5_000);
    expect(h.reconciler.lastApplied()?.hash).toBe('a');
    expect(h.failures.map((failure) => [failure.hash, failure.stage])).toEqual([['b', 'test']]);

    h.emit('b');
    h.emit('b');
    await advance(5_000);
    expect(hashes(h.calls)).toEqual(['a', 'b']);

    h.emit('c');
    await advance(5_000);
    expect(hashes(h.calls)).toEqual(['a', 'b', 'c']);
    expect(h.reconciler.lastApplied()?.hash).toBe('c');
  });

  it('retryFailed applies the failed output again, once; a no-op when nothing failed', async () => {
    const failOn = new Map<string, ApplyStage>([['b', 'reload']]);
    const h = setup({ failOn });
    h.emit('a');
    await advance(5_000);
    h.reconciler.retryFailed();
    await advance(5_000);
    expect(hashes(h.calls)).toEqual(['a']);

    h.emit('b');
    await advance(5_000);
    expect(hashes(h.calls)).toEqual(['a', 'b']);
    failOn.delete('b');
    h.reconciler.retryFailed();
    await advance(5_000);
    expect(hashes(h.calls)).toEqual(['a', 'b', 'b']);
    expect(h.reconciler.lastApplied()?.hash).toBe('b');
    h.reconciler.retryFailed();
    await advance(5_000);
    expect(hashes(h.calls)).toEqual(['a', 'b', 'b']);
  });

  it('an output that failed is retried once the output has changed in between', async () => {
    const failOn = new Map<string, ApplyStage>([['b', 'reload']]);
    const h = setup({ failOn });
    h.emit('a');
    await advance(5_000);
    h.emit('b');
    await advance(5_000);
    h.emit('a'); // same as applied: nothing to do, but the output changed
    await advance(5_000);
    failOn.clear();
    h.emit('b');
    await advance(5_000);
    expect(hashes(h.calls)).toEqual(['a', 'b', 'b']);
    expect(h.reconciler.lastApplied()?.hash).toBe('b');
  });

  it('the latest state rendering to a failed output cancels an older pending change', async () => {
    const h = setup({ durationMs: 500, failOn: new Map([['a', 'test']]) });
    h.emit('a');
    await advance(300); // a in flight until 700
    h.emit('b');
    await advance(500); // a failed at 700
    h.emit('a');
    await advance(10_000);
    expect(hashes(h.calls)).toEqual(['a']);
  });

  it('a revert to the serving config during a failing apply needs no follow-up', async () => {
    const h = setup({ durationMs: 500, failOn: new Map([['b', 'reload']]) });
    h.reconciler.setInitialApplied('a');
    h.emit('b');
    await advance(300); // b in flight until 700, then fails: a keeps serving
    h.emit('a');
    await advance(10_000);
    expect(hashes(h.calls)).toEqual(['b']);
    expect(h.reconciler.lastApplied()?.hash).toBe('a');
  });

  it('a revert to the serving config during a successful apply is applied as the follow-up', async () => {
    const h = setup({ durationMs: 500 });
    h.reconciler.setInitialApplied('a');
    h.emit('b');
    await advance(300);
    h.emit('a');
    await advance(10_000);
    expect(hashes(h.calls)).toEqual(['b', 'a']);
  });

  it('an applier that throws counts as a failure of stage unexpected', async () => {
    const state$ = new Subject<FakeState>();
    const reconciler = createReconciler<FakeState>({
      state$,
      render,
      applier: { apply: () => Promise.reject(new Error('bug')) },
    });
    current = undefined;
    const failures: ApplyFailure[] = [];
    reconciler.failures$.subscribe((failure) => failures.push(failure));
    state$.next({ v: 1, out: 'x' });
    await advance(5_000);
    expect(failures.map((failure) => failure.stage)).toEqual(['unexpected']);
    expect(reconciler.lastApplied()).toBeUndefined();
    await reconciler.stop();
  });
});

describe('createReconciler: gate, flush, stop', () => {
  it('applies nothing before startWhen emits, then the latest state at once', async () => {
    const gate = new Subject<void>();
    const h = setup({ startWhen: gate });
    h.emit('a');
    h.emit('b');
    await advance(10_000);
    expect(h.calls).toEqual([]);
    gate.next();
    await advance(0);
    expect(h.calls).toEqual([{ hash: 'b', at: 10_000, changedSince: 10_000 }]);
  });

  it('a promise gate whose latest state equals the initially applied config applies nothing', async () => {
    let open: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const h = setup({ startWhen: gate });
    h.reconciler.setInitialApplied('lkg');
    h.emit('x');
    h.emit('lkg');
    await advance(5_000);
    open();
    await advance(5_000);
    expect(h.calls).toEqual([]);
    h.emit('y');
    await advance(5_000);
    expect(hashes(h.calls)).toEqual(['y']);
  });

  it('flush applies what is pending without waiting for the debounce', async () => {
    const h = setup({ durationMs: 0 });
    h.emit('a');
    await h.reconciler.flush();
    expect(h.calls).toEqual([{ hash: 'a', at: 0, changedSince: 0 }]);
    expect(h.reconciler.lastApplied()?.hash).toBe('a');
    await h.reconciler.flush(); // nothing pending: resolves, applies nothing
    expect(h.calls).toHaveLength(1);
  });

  it('flush waits for the apply in flight, then applies the follow-up', async () => {
    const h = setup({ durationMs: 500 });
    h.emit('a');
    await advance(200);
    h.emit('b');
    const flushed = h.reconciler.flush();
    await advance(1_000); // a ends at 700, then b (500 ms) runs at once
    await flushed;
    expect(h.calls.map((call) => [call.hash, call.at])).toEqual([
      ['a', 200],
      ['b', 700],
    ]);
  });

  it('stop waits for the apply in flight and ignores later states', async () => {
    const h = setup({ durationMs: 500 });
    h.emit('a');
    await advance(200);
    const stopped = h.reconciler.stop();
    h.emit('b');
    await advance(500);
    await stopped;
    await advance(10_000);
    expect(hashes(h.calls)).toEqual(['a']);
    expect(hashes(h.applied)).toEqual(['a']);
  });

  it('rejects a maximum wait below the quiet time', () => {
    expect(() =>
      createReconciler({
        state$: new Subject<FakeState>(),
        render,
        applier: fakeApplier(0).applier,
        debounce: { minMs: 500, maxMs: 100 },
      }),
    ).toThrow(/debounce\.maxMs/);
  });
});

/**
 * Quick changes (dynamic mode's endpoint-only changes): outputs are `<structure>:<endpoints>` and a
 * change is quick when the structure part equals the baseline's (meta = the structure).
 */
describe('createReconciler: quick changes', () => {
  const structured = (state: FakeState): RenderedConfig => ({
    hash: state.out,
    files: [{ path: 'upstreams.conf', content: state.out }],
    meta: state.out.split(':')[0],
  });
  const quickChange = {
    isQuick: (next: RenderedConfig, baselineMeta: unknown) => next.meta === baselineMeta,
    debounce: { minMs: 0, maxMs: 20 },
  };
  const quickSetup = (o: { durationMs?: number; failOn?: ReadonlyMap<string, ApplyStage> } = {}) => {
    const h = setup({ render: structured, quickChange, durationMs: o.durationMs ?? 5, ...o });
    h.reconciler.setInitialApplied('s:1', 's');
    return h;
  };
  const timeline = (h: Harness) => h.calls.map((call) => [call.hash, call.at]);

  it.each([
    { change: 's:2', kind: 'endpoint-only', at: 0 },
    { change: 't:1', kind: 'structural', at: 200 },
  ])('a $kind change applies at $at (quick debounce 0 ms vs 200 ms)', async ({ change, at }) => {
    const h = quickSetup();
    h.emit(change);
    await advance(5_000);
    expect(timeline(h)).toEqual([[change, at]]);
  });

  it('a quick change due now starts in a microtask: no timer, no sleep before the push', async () => {
    const h = quickSetup();
    h.emit('s:2');
    h.emit('s:3');
    expect(h.calls).toEqual([]); // not synchronously: what the same code changes next is coalesced
    await microtasks(); // microtasks only; fake timers never advance
    expect(hashes(h.calls)).toEqual(['s:3']);
  });

  it('a structural change due now still waits for the timer of its own debounce', async () => {
    const h = quickSetup();
    h.emit('t:1');
    await microtasks();
    expect(h.calls).toEqual([]);
    await advance(200);
    expect(hashes(h.calls)).toEqual(['t:1']);
  });

  it('quick changes in the same tick are coalesced into one apply', async () => {
    const h = quickSetup();
    h.emit('s:2');
    h.emit('s:3');
    h.emit('s:4');
    await advance(5_000);
    expect(timeline(h)).toEqual([['s:4', 0]]);
  });

  it('changes during a quick apply make one follow-up right after it, without reload spacing', async () => {
    const h = quickSetup({ durationMs: 5 });
    h.emit('s:2'); // applies at 0, ends at 5
    await advance(1);
    h.emit('s:3');
    await advance(1);
    h.emit('s:4');
    await advance(5_000);
    expect(timeline(h)).toEqual([
      ['s:2', 0],
      ['s:4', 5],
    ]);
    expect(h.maxConcurrent()).toBe(1);
  });

  it('a steady stream of quick changes still applies within the quick maxMs', async () => {
    // Quick minMs 10 with a change every 5 ms: each change postpones the quiet time, maxMs caps it.
    const h = setup({
      render: structured,
      durationMs: 0,
      quickChange: { ...quickChange, debounce: { minMs: 10, maxMs: 20 } },
    });
    h.reconciler.setInitialApplied('s:1', 's');
    for (let i = 2; i <= 10; i += 1) {
      h.emit(`s:${i}`);
      await advance(5);
    }
    await advance(5_000);
    expect(h.calls[0]).toEqual({ hash: 's:5', at: 20, changedSince: 0 });
    expect(h.reconciler.lastApplied()?.hash).toBe('s:10');
  });

  it('an endpoint change pending during a structural apply is quick against the config in flight', async () => {
    const h = quickSetup({ durationMs: 500 });
    h.emit('t:1'); // structural: applies at 200, ends at 700
    await advance(300);
    h.emit('t:2'); // quick against t:1 in flight: right after it, no 1,000 ms spacing
    await advance(5_000);
    expect(timeline(h)).toEqual([
      ['t:1', 200],
      ['t:2', 700],
    ]);
  });

  it('is judged again when the structural apply in flight fails: then it is structural', async () => {
    const h = quickSetup({ durationMs: 500, failOn: new Map([['t:1', 'reload']]) });
    h.emit('t:1'); // fails at 700; s:1 stays applied
    await advance(300);
    h.emit('t:2'); // no longer quick against s:1: debounce long over, reload spacing applies
    await advance(5_000);
    expect(timeline(h)).toEqual([
      ['t:1', 200],
      ['t:2', 1_700],
    ]);
  });

  it.each([
    { name: 'nothing is applied yet', initial: false, isQuick: quickChange.isQuick },
    {
      name: 'isQuick throws',
      initial: true,
      isQuick: () => {
        throw new Error('bug');
      },
    },
  ])('a change is not quick when $name', async ({ initial, isQuick }) => {
    const h = setup({ render: structured, quickChange: { ...quickChange, isQuick } });
    if (initial) h.reconciler.setInitialApplied('s:1', 's');
    h.emit('s:2');
    await advance(5_000);
    expect(timeline(h)).toEqual([['s:2', 200]]);
  });

  it('rejects a quick maximum wait below its quiet time', () => {
    expect(() =>
      createReconciler({
        state$: new Subject<FakeState>(),
        render,
        applier: fakeApplier(0).applier,
        quickChange: { isQuick: () => true, debounce: { minMs: 50, maxMs: 10 } },
      }),
    ).toThrow(/quickChange\.debounce\.maxMs/);
  });
});
