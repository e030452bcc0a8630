export type {
  ClusterEvent,
  ClusterSnapshotEvent,
  ContainerDefinitionView,
  ContainerInstanceObservedEvent,
  ContainerInstanceView,
  ContainerSnapshot,
  Endpoint,
  HealthStatus,
  IgnoredEvent,
  NetworkBinding,
  NetworkMode,
  PortMappingView,
  ServicesObservedEvent,
  TaskDefinitionObservedEvent,
  TaskDefinitionView,
  TaskObservationSource,
  TaskObservedEvent,
  TaskSnapshot,
  TaskStatus,
  Upstream,
} from './domain.js';
export { ConfigError, EcsIngressError, EventParseError } from './errors.js';
export type { LogFn, Logger } from './logger.js';
export { silentLogger } from './logger.js';
