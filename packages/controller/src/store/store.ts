import type { ClusterEvent } from '@ecs-ingress/types';
import { BehaviorSubject, type Observable } from 'rxjs';
import {
  REDUCE_OUTCOMES,
  type ReduceOutcome,
  type ReduceResult,
  type ReducerOptions,
  reduce,
} from './reducer.js';
import { type ClusterState, emptyState } from './state.js';

export interface ClusterStoreOptions extends ReducerOptions {
  /** Start from this state instead of the empty one. */
  readonly initialState?: ClusterState;
  /**
   * Called synchronously after every dispatch (e.g. to count `ecs_ingress_events_applied_total`).
   * An exception thrown here propagates to the dispatcher; keep it trivial.
   */
  readonly onOutcome?: (outcome: ReduceOutcome, event: ClusterEvent, result: ReduceResult) => void;
}

/**
 * The store: the current `ClusterState` in a `BehaviorSubject`, changed only by `dispatch`, which
 * runs the reducer synchronously. `state$` emits every new state object (late subscribers get the
 * current one at once); consumers that only care about upstreams can skip states whose
 * `dispatch` reported `changed: false`, or compare the collections by reference.
 */
export class ClusterStore {
  readonly #subject: BehaviorSubject<ClusterState>;
  readonly #options: ReducerOptions;
  readonly #onOutcome: ClusterStoreOptions['onOutcome'];
  #completed = false;
  readonly #counts: Record<ReduceOutcome, number> = {
    applied: 0,
    stale: 0,
    duplicate: 0,
    ignored: 0,
    invalid: 0,
  };

  constructor(options: ClusterStoreOptions = {}) {
    const { initialState, onOutcome, ...reducerOptions } = options;
    this.#subject = new BehaviorSubject(initialState ?? emptyState());
    this.#options = reducerOptions;
    this.#onOutcome = onOutcome;
  }

  /** The current state, then every new one. */
  get state$(): Observable<ClusterState> {
    return this.#subject.asObservable();
  }

  /** The current state. */
  snapshot(): ClusterState {
    return this.#subject.getValue();
  }

  /** Applies one event; returns the full result (outcome, changed, next state). */
  dispatchWithResult(event: ClusterEvent): ReduceResult {
    if (this.#completed) throw new Error('ClusterStore: dispatch after complete()');
    const previous = this.#subject.getValue();
    const result = reduce(previous, event, this.#options);
    this.#counts[result.outcome]++;
    if (result.state !== previous) this.#subject.next(result.state);
    this.#onOutcome?.(result.outcome, event, result);
    return result;
  }

  /** Applies one event and returns its outcome. */
  dispatch(event: ClusterEvent): ReduceOutcome {
    return this.dispatchWithResult(event).outcome;
  }

  /** Events seen so far, per outcome (a copy). */
  counts(): Record<ReduceOutcome, number> {
    const out = {} as Record<ReduceOutcome, number>;
    for (const outcome of REDUCE_OUTCOMES) out[outcome] = this.#counts[outcome];
    return out;
  }

  /** Completes `state$` (at shutdown); `snapshot()` keeps answering, `dispatch` then throws. */
  complete(): void {
    this.#completed = true;
    this.#subject.complete();
  }
}
