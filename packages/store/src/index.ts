// @ecs-ingress/store: the cluster's state as immutable data (immer), changed only by the reducer,
// and the pure derivation of NGINX upstreams from it. No I/O; nothing of AWS, NGINX or HTTP.
export type { Admission, AdmissionReason } from './admit-task.js';
export type { Derivation, DeriveOptions, UpstreamDeriver } from './derive-upstreams.js';
export { createUpstreamDeriver, deriveUpstreams, matchesClusterFilter } from './derive-upstreams.js';
export type { BatchResult, ReduceOutcome, ReduceResult, ReducerOptions } from './reducer.js';
export {
  DEFAULT_TOMBSTONE_SWEEP_INTERVAL_MS,
  DEFAULT_TOMBSTONE_TTL_MS,
  REDUCE_OUTCOMES,
  reduce,
  reduceAll,
  reduceBatch,
} from './reducer.js';
export type { ServiceRouteSource } from './route-sources.js';
export { hasRouteLabels, portUpstreamName } from './route-sources.js';
export type { PortSelection, PortSelectionFailure, PortSelectionResult } from './select-port.js';
export { CONTAINER_LABEL, PORT_LABEL, selectPort } from './select-port.js';
export type {
  ClusterState,
  ServiceState,
  TaskEntry,
  TaskHealth,
  Tombstone,
  TombstoneReason,
} from './state.js';
export {
  emptyState,
  getContainerInstance,
  getTask,
  getTaskDefinition,
  getTombstone,
  knownServices,
  listTasks,
  serviceKey,
  serviceNameOf,
  stateToJSON,
  taskCount,
  tombstoneCount,
} from './state.js';
export type { ClusterStoreOptions } from './store.js';
export { ClusterStore } from './store.js';
