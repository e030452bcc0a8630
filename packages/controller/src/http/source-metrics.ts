/**
 * The sources' metric hooks (`SourceMetrics`, @ecs-ingress/sources) adapted to the Prometheus
 * metrics of metrics.ts: the sources report what happened, this file knows the names and labels.
 */
import type { SourceMetrics } from '@ecs-ingress/sources';
import type { Metrics } from './metrics.js';

/** `SourceMetrics` feeding `metrics`. */
export function sourceMetrics(metrics: Metrics): SourceMetrics {
  return {
    eventReceived(source, detailType) {
      metrics.eventsReceived.inc({ source, detail_type: detailType });
    },
    invalidEvent() {
      metrics.eventsApplied.inc({ outcome: 'invalid' });
    },
    tasksAwaitingHealth(count) {
      metrics.tasksAwaitingHealth.set(count);
    },
    sqsMessagesReceived(count) {
      metrics.sqsMessagesReceived.inc(count);
    },
    sqsMessagesDeleted(count) {
      metrics.sqsMessagesDeleted.inc(count);
    },
    sqsSourceHealthy(healthy) {
      metrics.sqsSourceHealthy.set(healthy ? 1 : 0);
    },
    sourceMode(mode) {
      metrics.sourceMode.set({ mode: 'events' }, mode === 'events' ? 1 : 0);
      metrics.sourceMode.set({ mode: 'polling' }, mode === 'polling' ? 1 : 0);
    },
    awsCall(service, operation, outcome, seconds) {
      metrics.awsCalls.inc({ service, operation, outcome });
      metrics.awsCallDurationSeconds.observe({ service, operation }, seconds);
    },
  };
}
