import { recordingLogger } from '@ecs-ingress/testkit';
import { type AwsFake, buildAwsvpcTask, buildTaskDefinition, startAwsFake } from '@ecs-ingress/testkit/aws';
import { BehaviorSubject, filter, firstValueFrom, type Observable, timeout } from 'rxjs';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { fakeClients, RecordedMetrics, RecordingSink, warningLogger } from '../test/helpers.js';
import { AWS_CALL_ERROR_CODES } from './aws/aws-call-error.js';
import { EcsPoller, type SyncReport } from './ecs-poller.js';
import type { SourceMode } from './source-metrics.js';
import {
  type FullSyncSource,
  jittered,
  MAX_THROTTLE_SLOWDOWN,
  SourceSupervisor,
  type SourceSupervisorOptions,
  SourcesStoppedError,
  type SyncOutcome,
} from './source-supervisor.js';

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

/** The mode gauge as the HTTP layer sets it: 1 for the mode last reported, 0 for the other. */
function gaugeValue(metrics: RecordedMetrics, mode: SourceMode): number | undefined {
  return metrics.mode === undefined ? undefined : metrics.mode === mode ? 1 : 0;
}

describe('SourceSupervisor modes', () => {
  it('polls every poll interval when no queue is configured', async () => {
    const poller = new CountingPoller();
    const metrics = new RecordedMetrics();
    const s = supervise({ poller, pollIntervalMs: 10, resyncIntervalMs: 3_600_000, metrics });
    expect(s.currentMode).toBe('polling');
    await s.firstSync;
    await vi.waitFor(() => expect(poller.syncs).toBeGreaterThanOrEqual(4), { timeout: 5_000 });
    expect(gaugeValue(metrics, 'polling')).toBe(1);
    expect(gaugeValue(metrics, 'events')).toBe(0);
  });

  it('syncs at start in events mode, polls once the queue fails beyond the grace period, returns when healthy', async () => {
    const poller = new CountingPoller();
    const metrics = new RecordedMetrics();
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
    expect(gaugeValue(metrics, 'events')).toBe(1);

    queue.next(false);
    await modeBecomes(s.mode$, 'polling');
    const atSwitch = poller.syncs;
    await vi.waitFor(() => expect(poller.syncs).toBeGreaterThanOrEqual(atSwitch + 3), { timeout: 5_000 });
    expect(gaugeValue(metrics, 'polling')).toBe(1);

    queue.next(true);
    await modeBecomes(s.mode$, 'events');
    expect(modes).toEqual(['events', 'polling', 'events']);
    expect(gaugeValue(metrics, 'events')).toBe(1);
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
    const { logger, warnings } = warningLogger();
    try {
      fake.inject({ service: 'ecs', kind: 'throttle' });
      const sink = new RecordingSink();
      const poller = new EcsPoller({ ...clients, cluster: 'prod', sink, logger });
      let done = false;
      const slowdowns: number[] = [];
      const s = supervise({
        poller,
        queueHealthy$: new BehaviorSubject(true),
        logger,
        resyncIntervalMs: 3_600_000,
        hooks: { onThrottled: (slowdown) => slowdowns.push(slowdown) },
      });
      s.firstSync.then(() => {
        done = true;
      });
      await vi.waitFor(() => expect(warnings.length).toBeGreaterThanOrEqual(3), { timeout: 5_000 });
      expect(done).toBe(false);
      expect(warnings.every((w) => w.code === AWS_CALL_ERROR_CODES.throttled)).toBe(true);
      expect(sink.events).toHaveLength(0);
      // Adaptive: each throttled attempt doubles the slowdown (capped), counted through the hook.
      expect(slowdowns.slice(0, 3)).toEqual([2, 4, 8]);
      expect(s.throttleSlowdown).toBe(MAX_THROTTLE_SLOWDOWN);
      expect(s.currentMode).toBe('events');

      fake.clearFaults();
      const report = await s.firstSync;
      // A clean sync halves it again.
      expect(s.throttleSlowdown).toBe(MAX_THROTTLE_SLOWDOWN / 2);
      expect(report.tasks).toBe(1);
      expect(sink.ofKind('snapshot')).toHaveLength(1);
      expect(s.currentMode).toBe('events');
    } finally {
      await Promise.all(supervisors.splice(0).map((s) => s.stop()));
      clients.destroy();
    }
  });
});

describe('SourceSupervisor and permanent AWS problems', () => {
  it('logs a permanent problem once at error with its hint, retries quietly, reports it, and clears it on success', async () => {
    const denied = Object.assign(new Error('not authorized to perform ecs:ListTasks'), {
      name: 'AccessDeniedException',
      $metadata: { httpStatusCode: 400 },
    });
    let failing = true;
    let attempts = 0;
    const poller: FullSyncSource = {
      async fullSync() {
        attempts++;
        if (failing) throw denied;
        return new CountingPoller().fullSync();
      },
    };
    const outcomes: SyncOutcome[] = [];
    const logger = recordingLogger();
    const { lines } = logger;
    const s = supervise({ poller, pollIntervalMs: 10, logger, onSync: (o) => outcomes.push(o) });
    await vi.waitFor(() => expect(attempts).toBeGreaterThanOrEqual(4), { timeout: 5_000 });
    expect(s.currentProblem).toMatchObject({
      reason: 'access-denied',
      code: 'ECS_INGRESS_AWS_ACCESS_DENIED',
    });
    const errors = lines.filter(({ level }) => level === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]?.args[0]).toMatchObject({
      code: 'ECS_INGRESS_AWS_ACCESS_DENIED',
      reason: 'access-denied',
    });
    expect(errors[0]?.args[1]).toContain('deploy/ecs/iam-task-role-policy.json');
    expect(lines.filter(({ level }) => level === 'warn')).toHaveLength(0);
    expect(outcomes.every((o) => !o.ok && o.problem?.reason === 'access-denied')).toBe(true);

    failing = false;
    await s.firstSync;
    expect(s.currentProblem).toBeUndefined();
    expect(outcomes.at(-1)?.ok).toBe(true);
  });

  it('a transient failure stays a warn per retry and no problem', async () => {
    const poller = new CountingPoller();
    poller.fail = true;
    const logger = recordingLogger();
    const { lines } = logger;
    const s = supervise({ poller, pollIntervalMs: 10, logger });
    await vi.waitFor(
      () => expect(lines.filter(({ level }) => level === 'warn').length).toBeGreaterThanOrEqual(2),
      {
        timeout: 5_000,
      },
    );
    expect(s.currentProblem).toBeUndefined();
    expect(lines.filter(({ level }) => level === 'error')).toHaveLength(0);
  });

  it('stop() aborts the sync in flight through its signal and resolves without waiting for it', async () => {
    let seen: AbortSignal | undefined;
    const poller: FullSyncSource = {
      fullSync(signal) {
        seen = signal;
        // Never answers unless aborted: a slow API.
        return new Promise((_resolve, reject) => {
          signal?.addEventListener('abort', () => reject(new Error('aborted')));
        });
      },
    };
    const s = supervise({ poller, pollIntervalMs: 10 });
    await vi.waitFor(() => expect(seen).toBeDefined(), { timeout: 5_000 });
    await s.stop();
    expect(seen?.aborted).toBe(true);
    await expect(s.firstSync).rejects.toBeInstanceOf(SourcesStoppedError);
  });
});

describe('sync timers carry ±20 % jitter', () => {
  it.each([
    [0, 8_000],
    [0.5, 10_000],
    [0.999_999, 11_999.996],
  ])('random %f → %f ms of a 10 s interval', (r, want) => {
    expect(jittered(10_000, () => r)).toBeCloseTo(want, 2);
  });

  it('each gap is drawn anew: a supervisor asks for one random number per tick', async () => {
    const poller = new CountingPoller();
    let draws = 0;
    const s = supervise({
      poller,
      pollIntervalMs: 10,
      random: () => {
        draws++;
        return 0.5;
      },
    });
    await s.firstSync;
    await vi.waitFor(() => expect(poller.syncs).toBeGreaterThanOrEqual(4), { timeout: 5_000 });
    expect(draws).toBeGreaterThanOrEqual(poller.syncs - 1);
  });
});
