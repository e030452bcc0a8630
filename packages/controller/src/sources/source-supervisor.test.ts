import type { Logger } from '@ecs-ingress/types';
import { BehaviorSubject, filter, firstValueFrom, type Observable, timeout } from 'rxjs';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { AWS_CALL_ERROR_CODES } from '../aws/aws-call-error.js';
import { createMetrics, type Metrics } from '../http/metrics.js';
import {
  type AwsFake,
  buildAwsvpcTask,
  buildTaskDefinition,
  startAwsFake,
} from '../test-support/aws-fake/index.js';
import { EcsPoller, type SyncReport } from './ecs-poller.js';
import {
  type FullSyncSource,
  type SourceMode,
  SourceSupervisor,
  type SourceSupervisorOptions,
  SourcesStoppedError,
} from './source-supervisor.js';
import { fakeClients, RecordingSink } from './test-helpers.js';

const supervisors: SourceSupervisor[] = [];
afterEach(async () => {
  await Promise.all(supervisors.splice(0).map((s) => s.stop()));
});

/** A poller stand-in counting syncs; `fail` makes the next syncs reject. */
class CountingPoller implements FullSyncSource {
  syncs = 0;
  fail = false;
  async fullSync(): Promise<SyncReport> {
    if (this.fail) throw new Error('boom');
    this.syncs++;
    return {
      clusterArn: 'arn:aws:ecs:us-east-1:123456789012:cluster/prod',
      startedAt: Date.now(),
      calls: {},
      totalCalls: 0,
      tasks: 0,
      services: 0,
      skippedTasks: 0,
      taskDefinitionsFetched: 0,
      containerInstancesResolved: 0,
      durationMs: 0,
    };
  }
}

function supervise(options: SourceSupervisorOptions): SourceSupervisor {
  const s = new SourceSupervisor({ retry: { initialMs: 10, maxMs: 40 }, ...options });
  supervisors.push(s);
  s.start();
  return s;
}

/** Resolves when `mode$` reports `mode`; fails the test after 5 s instead of hanging. */
function modeBecomes(mode$: Observable<SourceMode>, mode: SourceMode): Promise<SourceMode> {
  return firstValueFrom(
    mode$.pipe(
      filter((m) => m === mode),
      timeout(5_000),
    ),
  );
}

async function gaugeValue(metrics: Metrics, mode: SourceMode): Promise<number | undefined> {
  const data = await metrics.sourceMode.get();
  return data.values.find((v) => v.labels.mode === mode)?.value;
}

describe('SourceSupervisor modes', () => {
  it('polls every poll interval when no queue is configured', async () => {
    const poller = new CountingPoller();
    const metrics = createMetrics({ defaults: false });
    const s = supervise({ poller, pollIntervalMs: 10, resyncIntervalMs: 3_600_000, metrics });
    expect(s.currentMode).toBe('polling');
    await s.firstSync;
    await vi.waitFor(() => expect(poller.syncs).toBeGreaterThanOrEqual(4), { timeout: 5_000 });
    expect(await gaugeValue(metrics, 'polling')).toBe(1);
    expect(await gaugeValue(metrics, 'events')).toBe(0);
  });

  it('syncs at start in events mode, polls once the queue fails beyond the grace period, returns when healthy', async () => {
    const poller = new CountingPoller();
    const metrics = createMetrics({ defaults: false });
    const queue = new BehaviorSubject(true);
    const modes: SourceMode[] = [];
    const s = supervise({
      poller,
      queueHealthy$: queue,
      graceMs: 30,
      pollIntervalMs: 10,
      resyncIntervalMs: 3_600_000,
      metrics,
    });
    s.mode$.subscribe((m) => modes.push(m));
    await s.firstSync;
    expect(s.currentMode).toBe('events');
    expect(await gaugeValue(metrics, 'events')).toBe(1);

    queue.next(false);
    await modeBecomes(s.mode$, 'polling');
    const atSwitch = poller.syncs;
    await vi.waitFor(() => expect(poller.syncs).toBeGreaterThanOrEqual(atSwitch + 3), { timeout: 5_000 });
    expect(await gaugeValue(metrics, 'polling')).toBe(1);

    queue.next(true);
    await modeBecomes(s.mode$, 'events');
    expect(modes).toEqual(['events', 'polling', 'events']);
    expect(await gaugeValue(metrics, 'events')).toBe(1);
  });

  it('stays in events mode when the queue recovers within the grace period', async () => {
    const queue = new BehaviorSubject(true);
    const modes: SourceMode[] = [];
    const s = supervise({ poller: new CountingPoller(), queueHealthy$: queue, graceMs: 60_000 });
    s.mode$.subscribe((m) => modes.push(m));
    await s.firstSync;
    queue.next(false);
    queue.next(true);
    queue.next(false);
    expect(s.currentMode).toBe('events');
    expect(modes).toEqual(['events']);
  });

  it('falls back to polling when a configured queue never becomes healthy', async () => {
    const queue = new BehaviorSubject(false);
    const s = supervise({
      poller: new CountingPoller(),
      queueHealthy$: queue,
      graceMs: 20,
      pollIntervalMs: 10,
    });
    expect(s.currentMode).toBe('events');
    await modeBecomes(s.mode$, 'polling');
  });

  it('rejects firstSync with a coded error when stopped before any sync succeeded', async () => {
    const poller = new CountingPoller();
    poller.fail = true;
    const s = supervise({ poller, pollIntervalMs: 10 });
    await s.stop();
    await expect(s.firstSync).rejects.toBeInstanceOf(SourcesStoppedError);
  });
});

describe('SourceSupervisor with the real poller while ECS throttles at start-up', () => {
  let fake: AwsFake;
  beforeAll(async () => {
    fake = await startAwsFake();
  });
  afterAll(async () => {
    await fake.close();
  });

  it('logs coded failures, keeps retrying, and completes the first sync once ECS answers', async () => {
    fake.ecs.addCluster('prod');
    const td = fake.ecs.putTaskDefinition(buildTaskDefinition({ family: 'web', networkMode: 'awsvpc' }));
    fake.ecs.putTask(
      buildAwsvpcTask({ cluster: 'prod', ip: '10.0.5.1', taskDefinitionArn: td.taskDefinitionArn! }),
    );
    const clients = fakeClients(fake, 1);
    const warnings: Record<string, unknown>[] = [];
    const logger: Logger = {
      trace() {},
      debug() {},
      info() {},
      warn(obj: unknown) {
        if (typeof obj === 'object' && obj !== null) warnings.push(obj as Record<string, unknown>);
      },
      error() {},
      fatal() {},
      child: () => logger,
    };
    try {
      fake.inject({ service: 'ecs', kind: 'throttle' });
      const sink = new RecordingSink();
      const poller = new EcsPoller({ ...clients, cluster: 'prod', sink, logger });
      let done = false;
      const s = supervise({
        poller,
        queueHealthy$: new BehaviorSubject(true),
        logger,
        resyncIntervalMs: 3_600_000,
      });
      s.firstSync.then(() => {
        done = true;
      });
      await vi.waitFor(() => expect(warnings.length).toBeGreaterThanOrEqual(3), { timeout: 5_000 });
      expect(done).toBe(false);
      expect(warnings.every((w) => w.code === AWS_CALL_ERROR_CODES.throttled)).toBe(true);
      expect(sink.events).toHaveLength(0);

      fake.clearFaults();
      const report = await s.firstSync;
      expect(report.tasks).toBe(1);
      expect(sink.ofKind('snapshot')).toHaveLength(1);
      expect(s.currentMode).toBe('events');
    } finally {
      await Promise.all(supervisors.splice(0).map((s) => s.stop()));
      clients.ecs.destroy();
      clients.ec2.destroy();
    }
  });
});
