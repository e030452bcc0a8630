import { AWS_PROBLEM_REASONS } from '@ecs-ingress/sources';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Every metric ecs-ingress exports, created once per process (or per test) on its own registry.
 * Names follow the Prometheus conventions: base units (seconds, bytes), `_total` on counters,
 * labels with small fixed value sets only (never a task ARN).
 */
export interface Metrics {
  readonly registry: Registry;
  /** Events received, by source (sqs, poller, replay, health) and detail type. */
  readonly eventsReceived: Counter<'source' | 'detail_type'>;
  /** Events after the store saw them: applied, stale, duplicate, ignored, invalid. */
  readonly eventsApplied: Counter<'outcome'>;
  /** From an event entering the store to the config that contains it being live. */
  readonly eventToServingSeconds: Histogram<string>;
  /** Renders of the upstreams file, by result (changed = differs from the last applied). */
  readonly renders: Counter<'result'>;
  /** Reconcile runs by result (changed, unchanged, failed). */
  readonly reconciles: Counter<'result'>;
  /** NGINX reloads by result (success, test_failed, reload_failed). */
  readonly reloads: Counter<'result'>;
  readonly reloadDurationSeconds: Histogram<string>;
  /** `nginx -t` failures. */
  readonly configTestFailures: Counter<string>;
  /** The applied config's hash as a label, value 1 (info-style metric). */
  readonly configHash: Gauge<'hash'>;
  /** 0 when the last reload failed, else 1 (from the first scrape: no reload has failed yet). */
  readonly lastReloadSuccess: Gauge<string>;
  /** Unix time NGINX last loaded a config successfully: its start, then each reload (0 before the start). */
  readonly lastReloadSuccessTimestamp: Gauge<string>;
  /** NGINX worker processes alive, old generations included. */
  readonly nginxWorkers: Gauge<string>;
  /** NGINX master restarts after an unexpected exit. */
  readonly nginxRestarts: Counter<string>;
  /** Upstreams rendered. */
  readonly upstreams: Gauge<string>;
  /** Servers per upstream (one series per upstream; the set of services is bounded by the cluster). */
  readonly upstreamServers: Gauge<'upstream'>;
  /** Tasks RUNNING whose health check has not yet passed. */
  readonly tasksAwaitingHealth: Gauge<string>;
  /** Tasks that should route but whose address or port could not be resolved. */
  readonly tasksUnresolved: Gauge<string>;
  /** AWS API calls by service, operation and outcome (success, throttled, error). */
  readonly awsCalls: Counter<'service' | 'operation' | 'outcome'>;
  readonly awsCallDurationSeconds: Histogram<'service' | 'operation'>;
  /** Full syncs of the cluster by result (success, error); both series exist from the start. */
  readonly fullSyncs: Counter<'result'>;
  /** 1 for the permanent AWS problem (reason) failing every sync since the last success, else 0. */
  readonly awsPermanentError: Gauge<'reason'>;
  readonly sqsMessagesReceived: Counter<string>;
  readonly sqsMessagesDeleted: Counter<string>;
  /** 1 while the queue source is receiving without errors. */
  readonly sqsSourceHealthy: Gauge<string>;
  /** 1 for the current mode (events or polling), 0 for the other. */
  readonly sourceMode: Gauge<'mode'>;
  /** Bundle checks (unchanged, changed, error) and applies (success, failed). */
  readonly bundleChecks: Counter<'result'>;
  readonly bundleApplies: Counter<'result'>;
  /** Endpoint updates pushed to NGINX without reload (dynamic mode), by result. */
  readonly dynamicUpdates: Counter<'result'>;
}

/**
 * prom-client's default gauges named `_total`, which `promtool check metrics` refuses ("non-counter
 * metrics should not have _total suffix"). Each is the sum of the labelled gauge of the same name
 * without the suffix (`sum(nodejs_active_handles)`), so dropping them loses nothing.
 */
export const DROPPED_DEFAULT_METRICS = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
] as const;

/** Create all metrics on a fresh registry; `defaults` adds Node's process metrics. */
export function createMetrics(options: { defaults?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (options.defaults !== false) {
    collectDefaultMetrics({ register: registry });
    for (const name of DROPPED_DEFAULT_METRICS) registry.removeSingleMetric(name);
  }
  const registers = [registry];
  const secondsBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
  const metrics: Metrics = {
    registry,
    eventsReceived: new Counter({
      name: 'ecs_ingress_events_received_total',
      help: 'Events received, by source and detail type.',
      labelNames: ['source', 'detail_type'],
      registers,
    }),
    eventsApplied: new Counter({
      name: 'ecs_ingress_events_applied_total',
      help: 'Events processed by the store, by outcome (applied, stale, duplicate, ignored, invalid).',
      labelNames: ['outcome'],
      registers,
    }),
    eventToServingSeconds: new Histogram({
      name: 'ecs_ingress_event_to_serving_seconds',
      help: 'Time from an event entering the store to NGINX serving a config that contains it.',
      buckets: secondsBuckets,
      registers,
    }),
    renders: new Counter({
      name: 'ecs_ingress_renders_total',
      help: 'Renders of the upstreams file, by result (changed, unchanged).',
      labelNames: ['result'],
      registers,
    }),
    reconciles: new Counter({
      name: 'ecs_ingress_reconciles_total',
      help: 'Reconcile (apply) runs, by result (changed, unchanged, failed).',
      labelNames: ['result'],
      registers,
    }),
    reloads: new Counter({
      name: 'ecs_ingress_nginx_reloads_total',
      help: 'NGINX reloads, by result (success, test_failed, reload_failed).',
      labelNames: ['result'],
      registers,
    }),
    reloadDurationSeconds: new Histogram({
      name: 'ecs_ingress_nginx_reload_duration_seconds',
      help: 'Time from writing the files to the new NGINX workers being confirmed live.',
      buckets: secondsBuckets,
      registers,
    }),
    configTestFailures: new Counter({
      name: 'ecs_ingress_nginx_config_test_failures_total',
      help: 'Configurations rejected by nginx -t.',
      registers,
    }),
    configHash: new Gauge({
      name: 'ecs_ingress_config_hash_info',
      help: 'Hash of the applied upstreams configuration (label), value 1.',
      labelNames: ['hash'],
      registers,
    }),
    lastReloadSuccess: new Gauge({
      name: 'ecs_ingress_nginx_last_reload_success',
      help: '0 when the last NGINX reload failed, else 1 (1 before any reload).',
      registers,
    }),
    lastReloadSuccessTimestamp: new Gauge({
      name: 'ecs_ingress_nginx_last_reload_success_timestamp_seconds',
      help: 'Unix time NGINX last loaded a configuration successfully (its start, then each reload); 0 before NGINX started.',
      registers,
    }),
    nginxWorkers: new Gauge({
      name: 'ecs_ingress_nginx_worker_processes',
      help: 'NGINX worker processes alive, old generations included.',
      registers,
    }),
    nginxRestarts: new Counter({
      name: 'ecs_ingress_nginx_restarts_total',
      help: 'Restarts of the NGINX master after it exited unexpectedly.',
      registers,
    }),
    upstreams: new Gauge({
      name: 'ecs_ingress_upstreams',
      help: 'Upstreams in the applied configuration.',
      registers,
    }),
    upstreamServers: new Gauge({
      name: 'ecs_ingress_upstream_servers',
      help: 'Servers in each upstream of the applied configuration.',
      labelNames: ['upstream'],
      registers,
    }),
    tasksAwaitingHealth: new Gauge({
      name: 'ecs_ingress_tasks_awaiting_health',
      help: 'RUNNING tasks with a health check that has not passed yet.',
      registers,
    }),
    tasksUnresolved: new Gauge({
      name: 'ecs_ingress_tasks_unresolved',
      help: 'Tasks that should route but whose address or port cannot be resolved.',
      registers,
    }),
    awsCalls: new Counter({
      name: 'ecs_ingress_aws_api_calls_total',
      help: 'AWS API calls, by service, operation and outcome (success, throttled, error).',
      labelNames: ['service', 'operation', 'outcome'],
      registers,
    }),
    awsCallDurationSeconds: new Histogram({
      name: 'ecs_ingress_aws_api_call_duration_seconds',
      help: 'AWS API call latency, SDK retries included.',
      labelNames: ['service', 'operation'],
      buckets: secondsBuckets,
      registers,
    }),
    fullSyncs: new Counter({
      name: 'ecs_ingress_full_syncs_total',
      help: 'Full syncs of the cluster from the ECS API, by result (success, error).',
      labelNames: ['result'],
      registers,
    }),
    awsPermanentError: new Gauge({
      name: 'ecs_ingress_aws_permanent_error',
      help: 'AWS problem that retrying cannot fix (reason: no-credentials, invalid-credentials, cluster-not-found, access-denied), 1 while it fails every sync.',
      labelNames: ['reason'],
      registers,
    }),
    sqsMessagesReceived: new Counter({
      name: 'ecs_ingress_sqs_messages_received_total',
      help: 'SQS messages received.',
      registers,
    }),
    sqsMessagesDeleted: new Counter({
      name: 'ecs_ingress_sqs_messages_deleted_total',
      help: 'SQS messages deleted after their event reached the store.',
      registers,
    }),
    sqsSourceHealthy: new Gauge({
      name: 'ecs_ingress_sqs_source_healthy',
      help: '1 while the SQS source receives without errors.',
      registers,
    }),
    sourceMode: new Gauge({
      name: 'ecs_ingress_source_mode',
      help: 'Current source mode (label mode = events or polling), 1 for the active one.',
      labelNames: ['mode'],
      registers,
    }),
    bundleChecks: new Counter({
      name: 'ecs_ingress_bundle_checks_total',
      help: 'Config bundle checks, by result (unchanged, changed, error).',
      labelNames: ['result'],
      registers,
    }),
    bundleApplies: new Counter({
      name: 'ecs_ingress_bundle_applies_total',
      help: 'Config bundle applies, by result (success, failed).',
      labelNames: ['result'],
      registers,
    }),
    dynamicUpdates: new Counter({
      name: 'ecs_ingress_dynamic_updates_total',
      help: 'Endpoint sets pushed to NGINX without a reload (dynamic mode), by result.',
      labelNames: ['result'],
      registers,
    }),
  };
  // True from the first scrape: no failed reload yet, every sync and problem series at 0 (an
  // alert on `increase()` or `== 1` needs the series to exist before the first change).
  metrics.lastReloadSuccess.set(1);
  for (const result of ['success', 'test_failed', 'reload_failed']) metrics.reloads.inc({ result }, 0);
  for (const result of ['success', 'failed']) metrics.bundleApplies.inc({ result }, 0);
  for (const result of ['success', 'error']) metrics.fullSyncs.inc({ result }, 0);
  for (const reason of AWS_PROBLEM_REASONS) metrics.awsPermanentError.set({ reason }, 0);
  return metrics;
}
