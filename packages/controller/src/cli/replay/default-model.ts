/** The replay model of the real controller: `ClusterStore` and `deriveUpstreams`. */
import { deriveUpstreams } from '../../store/derive-upstreams.js';
import type { ClusterState } from '../../store/state.js';
import { ClusterStore } from '../../store/store.js';
import type { ReplayModel } from './replay-model.js';

export const defaultReplayModel: ReplayModel<ClusterState> = {
  createStore: () => new ClusterStore(),
  derive: (state, options) => deriveUpstreams(state, options),
};
