/**
 * What a replay needs of the store and the derivation, as an interface so both replay modes (and
 * their tests) can run against the real ones or a stand-in.
 */
import type { Upstream } from '@ecs-ingress/types';
import type { Observable } from 'rxjs';
import type { ReplaySink } from './apply-recording.js';

/** A store: dispatch events, read the current state (synchronously, and as a stream for `--nginx`). */
export interface ReplayStore<S> extends ReplaySink {
  snapshot(): S;
  readonly state$: Observable<S>;
}

/** The derivation's answer, reduced to what a replay prints. */
export interface ReplayDerivation {
  readonly upstreams: readonly Upstream[];
  /** Tasks RUNNING but not yet reported HEALTHY. */
  readonly awaitingHealth?: readonly string[];
  /** Tasks that should route but whose address or port could not be resolved. */
  readonly unresolved?: readonly string[];
}

export interface ReplayModel<S> {
  createStore(): ReplayStore<S>;
  derive(state: S, options: { readonly clusterArn?: string }): ReplayDerivation;
}
