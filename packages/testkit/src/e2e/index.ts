// End-to-end harnesses: `ecs-ingress run` and other CLI commands as child processes (started by
// path, so this package needs nothing from the controller), their bundles and prefixes, ECS events
// as SQS carries them, helpers for the AWS-facing sources, and the alert-rule checks with promtool.

export type { TaskRef, TestPrefix } from './cli-harness.js';
export { makeTestPrefix, servedByTasks, serviceDefinition, taskChange, tcpExchange } from './cli-harness.js';
export type { CliProcess } from './cli-process.js';
export { runCli, spawnCli } from './cli-process.js';
export type { DaemonProcess, DynamicTestBundle, TestBundle } from './daemon-harness.js';
export {
  daemonBaseEnv,
  makeBundle,
  makeDynamicBundle,
  makeRoutesBundle,
  metricValue,
  runCleanups,
  servedBy,
  spawnDaemon,
} from './daemon-harness.js';
export type { DaemonWorld } from './daemon-world.js';
export { untilDaemon, untilReady, useDaemonWorld } from './daemon-world.js';
export { findOnPath } from './find-on-path.js';
export { loadedAwsClients, moduleLogEnv } from './module-log.js';
export type { ExpectedAlert } from './promtool-series.js';
export {
  ALERTS_FILE,
  dashboardQuery,
  inputSeries,
  parseExposition,
  promtoolOverScrapes,
  SCRAPE_LABELS,
  shippedAlerts,
} from './promtool-series.js';
export { sendBody, taskChangeBody } from './sqs-events.js';
