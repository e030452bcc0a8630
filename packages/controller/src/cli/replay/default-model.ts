/** The replay model of the real controller: `ClusterStore` and `deriveUpstreams`. */

import type { ClusterState } from '@ecs-ingress/store';
import { ClusterStore, deriveUpstreams } from '@ecs-ingress/store';
import type { ReplayModel } from './replay-model.js';

export const defaultReplayModel: ReplayModel<ClusterState> = {
  createStore: () => new ClusterStore(),
  derive: (state, options) => deriveUpstreams(state, options),
};
