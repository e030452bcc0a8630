/**
 * What the sources report for metrics, as one narrow interface (like ingress-nginx's metric
 * `Collector`): the application's HTTP layer adapts it to Prometheus, so nothing in this package
 * knows prom-client or a metric name. Each component takes only the members it reports through
 * (`Pick<SourceMetrics, …>`), and none at all when it is left out (tests, the recorder's benchmarks).
 */

/** The final outcome of one AWS SDK operation (after the SDK's own retries). */
export type AwsCallOutcome = 'success' | 'throttled' | 'error';

/** Where events come from (`replay` is counted by the replay pipeline, not here). */
export type EventSourceName = 'sqs' | 'poller' | 'health';

/** How the supervisor learns of changes: queue events, or polling while the queue fails. */
export type SourceMode = 'events' | 'polling';

export interface SourceMetrics {
  /** One event of `detailType` came from `source` (before the store judged it). */
  eventReceived(source: EventSourceName, detailType: string): void;
  /** A queue message held no valid event (the store never saw it: an `invalid` outcome). */
  invalidEvent(): void;
  /** RUNNING tasks whose health check has not passed yet, after each health round. */
  tasksAwaitingHealth(count: number): void;
  /** Messages one ReceiveMessage returned. */
  sqsMessagesReceived(count: number): void;
  /** Messages deleted after their events reached the store. */
  sqsMessagesDeleted(count: number): void;
  /** The queue source receives without errors (true) or not. */
  sqsSourceHealthy(healthy: boolean): void;
  /** The supervisor switched to (or started in) `mode`. */
  sourceMode(mode: SourceMode): void;
  /** One AWS SDK operation finished: its service label (`ecs`, `ec2`, `sqs`, `events`, `s3`), name, outcome and duration. */
  awsCall(service: string, operation: string, outcome: AwsCallOutcome, seconds: number): void;
}
