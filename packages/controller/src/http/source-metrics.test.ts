import { describe, expect, it } from 'vitest';
import { createMetrics } from './metrics.js';
import { sourceMetrics } from './source-metrics.js';

/** One labelled series' value, 0 when absent. */
async function value(
  metric: { get(): Promise<{ values: { labels: object; value: number; metricName?: string }[] }> },
  labels: Record<string, string> = {},
  metricName?: string,
): Promise<number> {
  const hit = (await metric.get()).values.find(
    (v) =>
      (metricName === undefined || v.metricName === metricName) &&
      Object.entries(labels).every(([k, want]) => (v.labels as Record<string, unknown>)[k] === want),
  );
  return hit?.value ?? 0;
}

describe('sourceMetrics: the sources’ hooks as Prometheus metrics', () => {
  it('counts events, invalid messages, SQS messages and health under their metric names', async () => {
    const metrics = createMetrics({ defaults: false });
    const hooks = sourceMetrics(metrics);
    hooks.eventReceived('sqs', 'ECS Task State Change');
    hooks.eventReceived('sqs', 'ECS Task State Change');
    hooks.eventReceived('health', 'Task Described');
    hooks.invalidEvent();
    hooks.sqsMessagesReceived(3);
    hooks.sqsMessagesDeleted(2);
    hooks.tasksAwaitingHealth(4);
    hooks.sqsSourceHealthy(true);
    expect(await value(metrics.eventsReceived, { source: 'sqs', detail_type: 'ECS Task State Change' })).toBe(
      2,
    );
    expect(await value(metrics.eventsReceived, { source: 'health', detail_type: 'Task Described' })).toBe(1);
    expect(await value(metrics.eventsApplied, { outcome: 'invalid' })).toBe(1);
    expect(await value(metrics.sqsMessagesReceived)).toBe(3);
    expect(await value(metrics.sqsMessagesDeleted)).toBe(2);
    expect(await value(metrics.tasksAwaitingHealth)).toBe(4);
    expect(await value(metrics.sqsSourceHealthy)).toBe(1);
    hooks.sqsSourceHealthy(false);
    expect(await value(metrics.sqsSourceHealthy)).toBe(0);
  });

  it('sets exactly one source mode to 1', async () => {
    const metrics = createMetrics({ defaults: false });
    const hooks = sourceMetrics(metrics);
    hooks.sourceMode('polling');
    expect([
      await value(metrics.sourceMode, { mode: 'events' }),
      await value(metrics.sourceMode, { mode: 'polling' }),
    ]).toEqual([0, 1]);
    hooks.sourceMode('events');
    expect([
      await value(metrics.sourceMode, { mode: 'events' }),
      await value(metrics.sourceMode, { mode: 'polling' }),
    ]).toEqual([1, 0]);
  });

  it('counts AWS calls by service, operation and outcome, and observes their duration', async () => {
    const metrics = createMetrics({ defaults: false });
    const hooks = sourceMetrics(metrics);
    hooks.awsCall('ecs', 'ListTasks', 'success', 0.02);
    hooks.awsCall('ecs', 'ListTasks', 'throttled', 0.5);
    const labels = { service: 'ecs', operation: 'ListTasks' };
    expect(await value(metrics.awsCalls, { ...labels, outcome: 'success' })).toBe(1);
    expect(await value(metrics.awsCalls, { ...labels, outcome: 'throttled' })).toBe(1);
    expect(
      await value(metrics.awsCallDurationSeconds, labels, 'ecs_ingress_aws_api_call_duration_seconds_count'),
    ).toBe(2);
    expect(
      await value(metrics.awsCallDurationSeconds, labels, 'ecs_ingress_aws_api_call_duration_seconds_sum'),
    ).toBeCloseTo(0.52);
  });
});
