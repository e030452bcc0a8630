/**
 * One NGINX apply at a time, for upstream changes AND bundle swaps (issue 5: "reload through the
 * same single-flight path as upstream changes (never two reloads racing)").
 *
 * The reconciler already runs one upstream apply at a time. A bundle swap joins that single flight
 * from outside, without a hook inside the runtime: the runtime reads the store through this gate's
 * `state$`, so while a swap runs
 *   1. the gate holds state emissions back (the reconciler sees no new state, schedules nothing);
 *   2. `flush()` lets the reconciler finish what is in flight or already pending, and resolves once
 *      no apply runs;
 *   3. the swap (symlink flip, reload, confirm or revert) runs alone;
 *   4. the gate opens and the newest state flows again (one render, one apply if it differs).
 * Swaps themselves are serialised by a promise chain.
 */
import { BehaviorSubject, combineLatest, distinctUntilChanged, filter, map, type Observable } from 'rxjs';

export class ApplyGate<S> {
  /** The store's states, held back while an exclusive apply runs. */
  readonly state$: Observable<S>;
  private readonly open = new BehaviorSubject(true);
  private chain: Promise<unknown> = Promise.resolve();

  constructor(source$: Observable<S>) {
    this.state$ = combineLatest([source$, this.open]).pipe(
      filter(([, open]) => open),
      map(([state]) => state),
      // Re-opening re-emits the latest state; skip it when the reconciler saw it already.
      distinctUntilChanged(),
    );
  }

  /** True while an exclusive apply holds the gate. */
  get held(): boolean {
    return !this.open.value;
  }

  /**
   * Runs `fn` with no upstream apply in flight or starting: holds states back, awaits `drain`
   * (the reconciler's flush), runs `fn`, opens again (also when `fn` throws).
   */
  exclusive<T>(drain: () => Promise<void>, fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(async () => {
      this.open.next(false);
      try {
        await drain();
        return await fn();
      } finally {
        this.open.next(true);
      }
    });
    this.chain = run.catch(() => undefined);
    return run;
  }

  complete(): void {
    this.open.complete();
  }
}
