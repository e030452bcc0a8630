export type { AwsCallErrorCode } from './aws/aws-call-error.js';
export { AWS_CALL_ERROR_CODES, AwsCallError, awsCall } from './aws/aws-call-error.js';
export type { AwsClients, AwsClientsOptions } from './aws/clients.js';
export { createAwsClients } from './aws/clients.js';
export type { AwsCallOutcome, InstrumentableClient } from './aws/instrument.js';
export { classifyAwsOutcome, instrumentClient, isThrottlingError } from './aws/instrument.js';
export type {
  EnsureInstanceQueueOptions,
  ProvisionedKind,
  ProvisioningAction,
  ProvisioningClients,
  QueueProvision,
  ReapStaleOptions,
  TeardownInstanceQueueOptions,
} from './aws/provisioning.js';
export {
  DEFAULT_PREFIX,
  ensureInstanceQueue,
  eventPatternFor,
  formatAction,
  instanceResourceName,
  queuePolicyFor,
  RULE_DETAIL_TYPES,
  reapStale,
  TAG_CLUSTER,
  TAG_HEARTBEAT,
  TAG_INSTANCE,
  teardownInstanceQueue,
  useSharedQueue,
} from './aws/provisioning.js';
export type {
  ActivatedBundle,
  ArchiveFormat,
  BundleCandidate,
  BundleManagerMetrics,
  BundleManagerOptions,
  BundleRejectReason,
  BundleSource,
  BundleSourceMetrics,
  BundleTester,
  DefaultBundleSourceOptions,
  DirectoryBundleSourceOptions,
  ExtractLimits,
  ExtractResult,
  S3BundleSourceOptions,
  S3BundleSourceStats,
  StagedBundle,
  StartupBundle,
} from './bundle/index.js';
export {
  BundleManager,
  BundleRejectedError,
  createNginxTester,
  DEFAULT_BUNDLE_DIR,
  DEFAULT_MAX_BYTES,
  DEFAULT_MAX_FILES,
  DEFAULT_UPSTREAMS_FILE,
  DefaultBundleSource,
  DirectoryBundleSource,
  detectArchiveFormat,
  extractBundle,
  hashTree,
  NoValidBundleError,
  resolveStartupBundle,
  S3BundleSource,
} from './bundle/index.js';
export type { ReplayCommandIo, ReplayCommandOptions, ReplayExitCode } from './cli/commands/replay.js';
export { runReplayCommand } from './cli/commands/replay.js';
export type { InvalidLineReport, ReplayCounts, ReplaySink } from './cli/replay/apply-recording.js';
export type { ReplayDerivation, ReplayModel, ReplayStore } from './cli/replay/replay-model.js';
export type { ReplayToFileOptions, ReplayToFileResult } from './cli/replay/replay-to-file.js';
export { replayToFile, UPSTREAMS_FILE_NAME } from './cli/replay/replay-to-file.js';
export type { ReplayToNginxOptions } from './cli/replay/replay-to-nginx.js';
export { replayToNginx } from './cli/replay/replay-to-nginx.js';
export type { DaemonConfig } from './config/env.js';
export { ConfigErrors, loadConfig } from './config/env.js';
export { CONFIG_VARIABLES, formatConfigTable } from './config/variables.js';
export { startDaemon } from './daemon/daemon.js';
export { startRecording } from './daemon/recorder.js';
export type { DemoOptions, DemoSession } from './demo/run-demo.js';
export { startDemo } from './demo/run-demo.js';
export type { DynamicControlClientOptions, DynamicEndpointState } from './dynamic/control-client.js';
export {
  DEFAULT_DYNAMIC_CONTROL_TIMEOUT_MS,
  DEFAULT_DYNAMIC_MAX_BODY_BYTES,
  DYNAMIC_CONTROL_PATH,
  DynamicControlClient,
} from './dynamic/control-client.js';
export type {
  DynamicApplier,
  DynamicApplierOptions,
  DynamicPushInfo,
  DynamicRunnerEvents,
  DynamicUpdateResult,
} from './dynamic/dynamic-applier.js';
export { createDynamicApplier } from './dynamic/dynamic-applier.js';
export type {
  DynamicRender,
  DynamicRenderMeta,
  DynamicRenderOptions,
  StreamServices,
} from './dynamic/dynamic-render.js';
export {
  dynamicMetaOf,
  hashEndpoints,
  parseStreamServices,
  renderDynamic,
  renderDynamicConfig,
} from './dynamic/dynamic-render.js';
export type { DynamicControlOperation } from './dynamic/errors.js';
export { DynamicControlError } from './dynamic/errors.js';
export { dynamicLuaDir } from './dynamic/lua-path.js';
export type { DynamicRuntimeParts, RuntimeDynamicOptions, UpstreamMode } from './dynamic/runtime-dynamic.js';
export { controlUrlFor, createDynamicRuntimeParts } from './dynamic/runtime-dynamic.js';
export type { ChangeClassification } from './dynamic/split-change.js';
export { classifyChange, endpointList, endpointSets } from './dynamic/split-change.js';
export { HttpHandlerError, HttpListenError } from './http/errors.js';
export type { Metrics } from './http/metrics.js';
export { createMetrics } from './http/metrics.js';
export type { ReconcilerMetricsOptions, ReloadResult, StoreOutcome } from './http/metrics-hooks.js';
export {
  reconcilerMetrics,
  recordEventReceived,
  recordStoreOutcome,
  reloadResultOf,
  setConfigHash,
  setUpstreamGauges,
  upstreamsOfMeta,
} from './http/metrics-hooks.js';
export type { HttpServer, HttpServerOptions, ProbeResult, StatusProvider } from './http/server.js';
export { DEFAULT_HTTP_HOST, DEFAULT_HTTP_PORT, startHttpServer } from './http/server.js';
export type { ErrorFields } from './log/error-fields.js';
export { errorFields } from './log/error-fields.js';
export type { CreateLoggerOptions, LogLevel } from './log/logger.js';
export {
  codeOf,
  createLogger,
  isLogLevel,
  LOG_LEVEL_ENV,
  logLevelFromEnv,
  NGINX_LOG_ERROR_CODE,
  UNCLASSIFIED_ERROR_CODE,
} from './log/logger.js';
export type { ApplyTarget, ConfigApplierOptions, NginxTestResult } from './reconciler/apply-config.js';
export { applyConfig, createConfigApplier } from './reconciler/apply-config.js';
export {
  ApplyUnexpectedError,
  CommitFailedError,
  ConfigTestFailedError,
  ConfigWriteError,
  ReloadFailedError,
  RenderFailedError,
  RollbackFailedError,
  RollbackReloadFailedError,
} from './reconciler/errors.js';
export type {
  AppliedChange,
  ApplyFailure,
  ApplyOutcome,
  Reconciler,
  ReconcilerMetrics,
  ReconcilerOptions,
} from './reconciler/pipeline.js';
export { createReconciler } from './reconciler/pipeline.js';
export type {
  ApplyContext,
  ApplyResult,
  ApplyStage,
  ConfigApplier,
  RenderedConfig,
  RenderedFile,
} from './reconciler/types.js';
export type {
  Runtime,
  RuntimeAppliedChange,
  RuntimeDerivation,
  RuntimeNginxOptions,
  RuntimeOptions,
  RuntimeRenderMeta,
  RuntimeStartInfo,
  ShutdownHandle,
  ShutdownOptions,
  ShutdownStep,
} from './runtime/index.js';
export {
  installShutdownHandlers,
  parseRenderedUpstreams,
  runShutdownSteps,
  startRuntime,
} from './runtime/index.js';
export { CallTally } from './sources/aws-batches.js';
export type { EcsPollerOptions, SyncReport } from './sources/ecs-poller.js';
export { ClusterNotFoundError, EcsPoller, serviceNameFromArn } from './sources/ecs-poller.js';
export type { EcsReferenceResolverOptions, ObservationHook } from './sources/ecs-references.js';
export { EcsReferenceResolver } from './sources/ecs-references.js';
export type { HealthCheckerOptions, HealthCheckReport } from './sources/health-checker.js';
export { HealthChecker } from './sources/health-checker.js';
export type {
  PacedLine,
  PaceOptions,
  ReadRecordingOptions,
  ReplayEventLine,
  ReplayInvalidLine,
  ReplayLine,
  ReplaySkippedLine,
  ReplaySpeed,
} from './sources/replay-source.js';
export {
  paceRecording,
  parseRecordingLine,
  readRecording,
  recordedTime,
  replayRecording$,
} from './sources/replay-source.js';
export type { FullSyncSource, SourceSupervisorOptions } from './sources/source-supervisor.js';
export { SourceSupervisor, SourcesStoppedError } from './sources/source-supervisor.js';
export type {
  DispatchOutcome,
  EventSink,
  SqsSourceHooks,
  SqsSourceOptions,
  SqsSourceStats,
} from './sources/sqs-source.js';
export { clusterMatches, clusterNameOf, SqsSource } from './sources/sqs-source.js';
export type {
  Admission,
  AdmissionReason,
  Derivation,
  DeriveOptions,
} from './store/derive-upstreams.js';
export {
  createUpstreamDeriver,
  deriveUpstreams,
  matchesClusterFilter,
  type UpstreamDeriver,
} from './store/derive-upstreams.js';
export { ipv4ToNumber, isValidIpv4 } from './store/ipv4.js';
export type { BatchResult, ReduceOutcome, ReduceResult, ReducerOptions } from './store/reducer.js';
export {
  DEFAULT_TOMBSTONE_SWEEP_INTERVAL_MS,
  DEFAULT_TOMBSTONE_TTL_MS,
  REDUCE_OUTCOMES,
  reduce,
  reduceAll,
  reduceBatch,
} from './store/reducer.js';
export type { PortSelection, PortSelectionFailure, PortSelectionResult } from './store/select-port.js';
export { CONTAINER_LABEL, PORT_LABEL, selectPort } from './store/select-port.js';
export type {
  ClusterState,
  ServiceState,
  TaskEntry,
  TaskHealth,
  Tombstone,
  TombstoneReason,
} from './store/state.js';
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
} from './store/state.js';
export type { ClusterStoreOptions } from './store/store.js';
export { ClusterStore } from './store/store.js';
