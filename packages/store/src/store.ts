import type { ClusterEvent } from '@ecs-ingress/types';
import { BehaviorSubject, type Observable } from 'rxjs';
import {
  type BatchResult,
  REDUCE_OUTCOMES,
  type ReduceOutcome,
  type ReduceResult,
  type ReducerOptions,
  reduceBatch,
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
 * The store: the current `ClusterState` in a `BehaviorSubject`, changed only by `dispatchBatch`
 * (one immer `produce` for what one SQS receive or one listing delivers) or `dispatch` (a batch of
 * one), which run the reducer synchronously. `state$` emits every new state object (late subscribers get the
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

  /**
   * Applies a batch of events in one step: `state$` emits once, with every event applied, then
   * `onOutcome` runs per event (an exception from it propagates; the batch stays applied).
   */
  dispatchBatch(events: readonly ClusterEvent[]): BatchResult {
    if (this.#completed) throw new Error('ClusterStore: dispatch after complete()');
    const previous = this.#subject.getValue();
    const result = reduceBatch(previous, events, this.#options);
    if (result.state !== previous) this.#subject.next(result.state);
    for (let i = 0; i < events.length; i++) {
      const outcome = result.outcomes[i] as ReduceOutcome;
      this.#counts[outcome]++;
      this.#onOutcome?.(outcome, events[i] as ClusterEvent, {
        state: result.state,
        outcome,
        changed: result.changed,
      });
    }
    return result;
  }

  /** Applies one event; returns the full result (outcome, changed, next state). */
  dispatchWithResult(event: ClusterEvent): ReduceResult {
    const result = this.dispatchBatch([event]);
    return { state: result.state, outcome: result.outcomes[0] as ReduceOutcome, changed: result.changed };
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
