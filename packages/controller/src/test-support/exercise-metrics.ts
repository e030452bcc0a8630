/**
 * Drives every ecs-ingress metric at least once, through the hook adapters where they exist and
 * directly otherwise, and returns what was recorded, so a test can compare the exposition (promtool)
 * or what a real Prometheus scraped.
 */
import type { Upstream } from '@ecs-ingress/types';
import type { Metrics } from '../http/metrics.js';
import {
  reconcilerMetrics,
  recordEventReceived,
  recordStoreOutcome,
  setUpstreamGauges,
} from '../http/metrics-hooks.js';

/** The values a scrape must show after `exerciseMetrics`. */
export interface ExercisedValues {
  readonly reloads: {
    readonly success: number;
    readonly test_failed: number;
    readonly reload_failed: number;
  };
  readonly configHash: string;
  readonly upstreamServers: Readonly<Record<string, number>>;
  readonly upstreams: number;
  readonly configTestFailures: number;
  readonly eventsApplied: number;
  readonly sqsMessagesReceived: number;
}

function upstream(name: string, servers: number): Upstream {
  return {
    name,
    servers: Array.from({ length: servers }, (_, i) => ({
      address: `10.0.1.${i + 10}`,
      port: 8080 + i,
      taskArn: `arn:aws:ecs:eu-west-1:123456789012:task/prod/${name}-${i}`,
    })),
  };
}

export function exerciseMetrics(metrics: Metrics): ExercisedValues {
  const hooks = reconcilerMetrics(metrics, { now: () => 1_700_000_000_000 });
  hooks.onRender(true);
  hooks.onRender(true);
  hooks.onRender(false);
  hooks.onRenderError?.(new Error('render failed'));
  const live = [upstream('web', 3), upstream('api', 2), upstream('idle', 0)];
  for (const [i, hash] of ['hash-1', 'hash-2', 'hash-3'].entries()) {
    hooks.onApply({
      ok: true,
      hash,
      at: i,
      durationMs: 120 + i * 40,
      reloadDurationMs: 80,
      latencyMs: 400 + i * 300,
      meta: { upstreams: i === 2 ? live : [upstream('web', 1)] },
    });
  }
  for (const stage of ['test', 'reload'] as const) {
    hooks.onApply({
      ok: false,
      hash: `bad-${stage}`,
      at: 9,
      stage,
      error: new Error(stage),
      latencyMs: 50,
      meta: {},
    });
  }
  // The last apply failed: make the "last reload" gauge reflect a recovery as a later success would.
  metrics.lastReloadSuccess.set(1);

  for (const outcome of [
    'applied',
    'applied',
    'applied',
    'stale',
    'duplicate',
    'ignored',
    'invalid',
  ] as const) {
    recordStoreOutcome(metrics, outcome);
  }
  recordEventReceived(metrics, 'sqs', 'ECS Task State Change');
  recordEventReceived(metrics, 'replay', 'ECS Task State Change');
  metrics.eventsReceived.inc({ source: 'poller', detail_type: 'Cluster Snapshot' });

  metrics.nginxWorkers.set(4);
  metrics.nginxRestarts.inc();
  metrics.tasksAwaitingHealth.set(2);
  metrics.tasksUnresolved.set(1);
  metrics.awsCalls.inc({ service: 'ECS', operation: 'DescribeTasks', outcome: 'success' });
  metrics.awsCalls.inc({ service: 'EC2', operation: 'DescribeInstances', outcome: 'throttled' });
  metrics.awsCallDurationSeconds.observe({ service: 'ECS', operation: 'DescribeTasks' }, 0.042);
  metrics.sqsMessagesReceived.inc(10);
  metrics.sqsMessagesDeleted.inc(9);
  metrics.sqsSourceHealthy.set(1);
  // The source supervisor sets both series itself; mirrored here.
  metrics.sourceMode.set({ mode: 'events' }, 1);
  metrics.sourceMode.set({ mode: 'polling' }, 0);
  metrics.bundleChecks.inc({ result: 'unchanged' });
  metrics.bundleChecks.inc({ result: 'changed' });
  metrics.bundleApplies.inc({ result: 'success' });
  metrics.dynamicUpdates.inc({ result: 'success' });
  setUpstreamGauges(metrics, live);

  return {
    reloads: { success: 3, test_failed: 1, reload_failed: 1 },
    configHash: 'hash-3',
    upstreamServers: { web: 3, api: 2, idle: 0 },
    upstreams: 3,
    configTestFailures: 1,
    eventsApplied: 7,
    sqsMessagesReceived: 10,
  };
}
