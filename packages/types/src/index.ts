export { ipv4ToNumber, isBackendIpv4, isValidIpv4, isValidPort } from './addresses.js';
export type { BackoffPolicy } from './backoff.js';
export { backoffDelay } from './backoff.js';
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
  ServiceDescribedEvent,
  ServicesObservedEvent,
  ServiceView,
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
export type { EcsArn, EcsArnKind } from './parse/arn.js';
export { InvalidArnError, isEcsArn, isEcsName, parseEcsArn } from './parse/arn.js';
export { parseContainerInstance } from './parse/container-instance.js';
export type { ParsedEnvelope } from './parse/event-body.js';
export { parseEventBody, parseEventObject } from './parse/event-body.js';
export type { ObservationKind, ParsedObservation } from './parse/observation.js';
export {
  formatObservationLine,
  isObservationKind,
  OBSERVATION_KINDS,
  OBSERVATION_SOURCE,
  parseObservation,
} from './parse/observation.js';
export { parseService } from './parse/service.js';
export { parseDescribedTask, serviceNameFromGroup } from './parse/task.js';
export { parseTaskDefinition } from './parse/task-definition.js';
export { toEpochMs } from './parse/timestamps.js';
export type { Cidr } from './routes/cidr.js';
export { parseCidr } from './routes/cidr.js';
export type { RouteErrorCode } from './routes/errors.js';
export { quoteForMessage, ROUTE_ERROR_CODES, RouteLabelError } from './routes/errors.js';
export type {
  HttpRouteSpec,
  InvalidRouteSpec,
  ParsedRouteLabels,
  RouteKind,
  TcpRouteSpec,
} from './routes/label-grammar.js';
export { DEFAULT_ROUTE_NAME, LABEL_PREFIX, parseRouteLabels } from './routes/label-grammar.js';
export type {
  CanarySplit,
  ResolvedHost,
  ResolvedLocation,
  ResolvedTcpRoute,
  RouteReport,
  RouteState,
  RouteTable,
} from './routes/route-table.js';
export type { BodySize, HttpMethod, PathMatch, TlsSetting, ValueResult } from './routes/values.js';
export {
  HTTP_METHODS,
  parseBoolean,
  parseCidrs,
  parseDuration,
  parseHost,
  parseHosts,
  parseMatch,
  parseMethods,
  parsePath,
  parsePort,
  parseSize,
  parseTls,
  parseWeight,
  ROUTE_LIMITS,
} from './routes/values.js';
