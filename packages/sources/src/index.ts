// The public face of @ecs-ingress/sources: what the application (daemon, recorder, CLI, HTTP
// layer) wires together. Internals (batching, negative cache, S3 objects, codecs) stay private.

export type { AwsClients, AwsClientsOptions } from './aws/clients.js';
export { createAwsClients } from './aws/clients.js';
export { planInstanceId, resolveInstanceId } from './aws/instance-identity.js';
export type { LazyClient } from './aws/lazy-client.js';
export type { AwsProblem, AwsProblemReason } from './aws/permanent-errors.js';
export { AWS_PROBLEM_REASONS, classifyAwsProblem } from './aws/permanent-errors.js';
export { DEFAULT_PREFIX, instanceResourceName } from './aws/provisioning/names.js';
export type { ProvisioningAction, QueueProvision } from './aws/provisioning.js';
export {
  ensureInstanceQueue,
  formatAction,
  reapStale,
  teardownInstanceQueue,
  useSharedQueue,
} from './aws/provisioning.js';
export { resolveAwsRegion } from './aws/region.js';
export { CallTally } from './aws-batches.js';
export type { SyncReport } from './ecs-poller.js';
export { EcsPoller } from './ecs-poller.js';
export type { DispatchOutcome, EventSink } from './event-sink.js';
export type { FleetHooks, FleetRole } from './fleet/fleet-hooks.js';
export { createFleetParts } from './fleet/fleet-parts.js';
export type { FleetStatus } from './fleet/fleet-sync.js';
export { FleetSync, MIN_RENEWALS_PER_LEASE } from './fleet/fleet-sync.js';
export type { SharedS3Location } from './fleet/shared-s3-uri.js';
export { parseSharedS3Uri } from './fleet/shared-s3-uri.js';
export { HealthChecker } from './health-checker.js';
export { ReferenceWatcher } from './reference-watcher.js';
export type { ReplayLine, ReplaySpeed } from './replay-source.js';
export { paceRecording, readRecording } from './replay-source.js';
export type { AwsCallOutcome, EventSourceName, SourceMetrics, SourceMode } from './source-metrics.js';
export type { FullSyncSource, SupervisorHooks, SyncOutcome } from './source-supervisor.js';
export { SourceSupervisor } from './source-supervisor.js';
export type { SqsSourceHooks } from './sqs-source.js';
export { SqsSource } from './sqs-source.js';
