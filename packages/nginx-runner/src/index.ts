export {
  NginxConfigUnsupportedError,
  NginxCrashLoopError,
  NginxFileWriteError,
  NginxReloadFailedError,
  NginxStartFailedError,
  NginxTestFailedError,
} from './errors.js';
export { ExecaNginxExec } from './execa-nginx-exec.js';
export type { LoggerLevel, NginxLogLevel, NginxLogLine } from './log-lines.js';
export {
  failureLinesOf,
  forwardNginxLine,
  isFailureLine,
  loggerLevelFor,
  parseNginxLogLine,
} from './log-lines.js';
export type { FileContent } from './managed-files.js';
export {
  LAST_GOOD_SUFFIX,
  lastGoodPathOf,
  lastKnownGood,
  ManagedFiles,
  readIfExists,
  writeFileAtomic,
} from './managed-files.js';
export type { MainConfigFacts } from './nginx-args.js';
export { inspectMainConfig, nginxArgs, nginxArgsFor } from './nginx-args.js';
export type {
  ChildProcessInfo,
  NginxExec,
  NginxExitInfo,
  NginxProcessHandle,
  NginxRunResult,
  OutputStream,
} from './nginx-exec.js';
export { NginxRunner } from './nginx-runner.js';
export type { RestartBackoff, RestartDecision } from './restart-policy.js';
export { DEFAULT_RESTART_BACKOFF, RestartPolicy } from './restart-policy.js';
export type {
  NginxReloadResult,
  NginxRunnerEvent,
  NginxRunnerListener,
  NginxRunnerOptions,
  NginxRunnerState,
  NginxTestResult,
} from './runner-types.js';
