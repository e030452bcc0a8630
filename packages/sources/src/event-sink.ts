/** The store as every source sees it: where events go, and what it answers for each. */
import type { ClusterEvent } from '@ecs-ingress/types';

/** What the store answers for one event. */
export type DispatchOutcome = 'applied' | 'stale' | 'duplicate' | 'ignored' | 'invalid';

/** The store as the sources see it: synchronous, returns once the event is part of the state. */
export interface EventSink {
  dispatch(event: ClusterEvent): DispatchOutcome;
  /** Applies events in one step (one state change for a whole SQS receive); one outcome each, in order. */
  dispatchBatch?(events: readonly ClusterEvent[]): { readonly outcomes: readonly DispatchOutcome[] };
}
