export type { Metrics } from './http/metrics.js';
export { createMetrics } from './http/metrics.js';
export type { LogLevel } from './log/logger.js';
export { createLogger } from './log/logger.js';
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
