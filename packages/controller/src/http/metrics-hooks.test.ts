import type { Upstream } from '@ecs-ingress/types';
import { Counter, type Gauge, type Histogram } from 'prom-client';
import { BehaviorSubject } from 'rxjs';
import { describe, expect, it, vi } from 'vitest';
import { createDynamicApplier } from '../dynamic/dynamic-applier.js';
import { renderDynamicConfig } from '../dynamic/dynamic-render.js';
import { DynamicControlError } from '../dynamic/errors.js';
import type { ApplyTarget } from '../reconciler/apply-config.js';
import { type ApplyOutcome, createReconciler } from '../reconciler/pipeline.js';
import type { ApplyStage } from '../reconciler/types.js';
import { createMetrics, type Metrics } from './metrics.js';
import {
  reconcilerMetrics,
  recordEventReceived,
  recordNginxReload,
  recordStartedConfig,
  recordStoreOutcome,
  setUpstreamGauges,
  syncMetrics,
  upstreamsOfMeta,
} from './metrics-hooks.js';

type Labels = Record<string, string | number>;

/** `{ 'label=value,…': value }` of a counter or gauge, for whole-metric assertions. */
/** A metric's series by labels; labelled counters still at 0 (created at start, never incremented) left out. */
async function valuesOf(metric: Counter<string> | Gauge<string>): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const v of (await metric.get()).values) {
    if (metric instanceof Counter && v.value === 0 && Object.keys(v.labels).length > 0) continue;
    const key = Object.entries(v.labels as Labels)
      .map(([k, val]) => `${k}=${val}`)
      .join(',');
    out[key] = v.value;
  }
  return out;
}

async function histogram(metric: Histogram<string>): Promise<{ count: number; sum: number }> {
  const values = (await metric.get()).values;
  const count = values.find((v) => v.metricName?.endsWith('_count'))?.value ?? 0;
  const sum = values.find((v) => v.metricName?.endsWith('_sum'))?.value ?? 0;
  return { count, sum };
}

function upstream(name: string, servers: number): Upstream {
  return {
    name,
    servers: Array.from({ length: servers }, (_, i) => ({
      address: `10.0.0.${i + 1}`,
      port: 8080,
      taskArn: `arn:aws:ecs:eu-west-1:1:task/c/${name}${i}`,
    })),
  };
}

function success(hash: string, meta: unknown, durationMs = 250, latencyMs = 1500): ApplyOutcome {
  return { ok: true, hash, at: 0, durationMs, latencyMs, meta };
}

function failure(stage: ApplyStage, hash = 'bad'): ApplyOutcome {
  return { ok: false, hash, at: 0, stage, error: new Error(stage), latencyMs: 10, meta: undefined };
}

function fresh(): Metrics {
  return createMetrics({ defaults: false });
}

describe('reconcilerMetrics', () => {
  it('counts renders and unchanged reconciles', async () => {
    const m = fresh();
    const hooks = reconcilerMetrics(m);
    hooks.onRender(true);
    hooks.onRender(false);
    hooks.onRender(false);
    hooks.onRenderError?.(new Error('x'));
    expect(await valuesOf(m.renders)).toEqual({
      'result=changed': 1,
      'result=unchanged': 2,
      'result=error': 1,
    });
    expect(await valuesOf(m.reconciles)).toEqual({ 'result=unchanged': 2, 'result=failed': 1 });
  });

  it('records a successful apply in every metric it concerns', async () => {
    const m = fresh();
    const hooks = reconcilerMetrics(m, { now: () => 1_700_000_000_500 });
    hooks.onApply(success('h1', { upstreams: [upstream('web', 2), upstream('api', 0)] }, 250, 1500));
    expect(await valuesOf(m.reloads)).toEqual({ 'result=success': 1 });
    expect(await valuesOf(m.reconciles)).toEqual({ 'result=changed': 1 });
    expect(await valuesOf(m.lastReloadSuccess)).toEqual({ '': 1 });
    expect(await valuesOf(m.lastReloadSuccessTimestamp)).toEqual({ '': 1_700_000_000.5 });
    expect(await valuesOf(m.configHash)).toEqual({ 'hash=h1': 1 });
    expect(await histogram(m.reloadDurationSeconds)).toEqual({ count: 1, sum: 0.25 });
    expect(await histogram(m.eventToServingSeconds)).toEqual({ count: 1, sum: 1.5 });
    expect(await valuesOf(m.upstreams)).toEqual({ '': 2 });
    expect(await valuesOf(m.upstreamServers)).toEqual({ 'upstream=web': 2, 'upstream=api': 0 });
    expect(await valuesOf(m.configTestFailures)).toEqual({ '': 0 });
  });

  it('keeps only the live hash and the current upstreams after a second apply', async () => {
    const m = fresh();
    const hooks = reconcilerMetrics(m);
    hooks.onApply(success('h1', { upstreams: [upstream('web', 2), upstream('old', 1)] }));
    hooks.onApply(success('h2', { upstreams: [upstream('web', 3)] }));
    expect(await valuesOf(m.configHash)).toEqual({ 'hash=h2': 1 });
    expect(await valuesOf(m.upstreamServers)).toEqual({ 'upstream=web': 3 });
    expect(await valuesOf(m.upstreams)).toEqual({ '': 1 });
    expect(await valuesOf(m.reloads)).toEqual({ 'result=success': 2 });
  });

  it.each<[ApplyStage, string, number]>([
    ['test', 'test_failed', 1],
    ['reload', 'reload_failed', 0],
    ['write', 'reload_failed', 0],
    ['unexpected', 'reload_failed', 0],
  ])(
    'a failure at %s counts reloads{result=%s}, sets last success 0, keeps hash and upstreams',
    async (stage, result, testFailures) => {
      const m = fresh();
      const hooks = reconcilerMetrics(m);
      hooks.onApply(success('good', { upstreams: [upstream('web', 1)] }));
      hooks.onApply(failure(stage));
      expect(await valuesOf(m.reloads)).toEqual({ 'result=success': 1, [`result=${result}`]: 1 });
      expect(await valuesOf(m.reconciles)).toEqual({ 'result=changed': 1, 'result=failed': 1 });
      expect(await valuesOf(m.lastReloadSuccess)).toEqual({ '': 0 });
      expect(await valuesOf(m.configTestFailures)).toEqual({ '': testFailures });
      expect(await valuesOf(m.configHash)).toEqual({ 'hash=good': 1 });
      expect(await valuesOf(m.upstreamServers)).toEqual({ 'upstream=web': 1 });
      expect(await histogram(m.reloadDurationSeconds)).toEqual({ count: 1, sum: 0.25 });
    },
  );

  it('leaves the upstream gauges alone when meta carries no upstreams', async () => {
    const m = fresh();
    const hooks = reconcilerMetrics(m);
    hooks.onApply(success('h1', { upstreams: [upstream('web', 2)] }));
    hooks.onApply(success('h2', { something: 'else' }));
    expect(await valuesOf(m.upstreamServers)).toEqual({ 'upstream=web': 2 });
    expect(await valuesOf(m.configHash)).toEqual({ 'hash=h2': 1 });
  });
});

describe('reconcilerMetrics in dynamic upstream mode', () => {
  it('counts an endpoint-only apply as no reload, but keeps hash, latency and upstream gauges', async () => {
    const m = fresh();
    const hooks = reconcilerMetrics(m, { now: () => 5_000 });
    hooks.onApply(success('h1', { upstreams: [upstream('web', 1)] }, 300, 1000));
    hooks.onApply({ ...success('h2', { upstreams: [upstream('web', 3)] }, 2, 40), reloaded: false });
    expect(await valuesOf(m.reloads)).toEqual({ 'result=success': 1 });
    expect(await histogram(m.reloadDurationSeconds)).toEqual({ count: 1, sum: 0.3 });
    expect(await valuesOf(m.reconciles)).toEqual({ 'result=changed': 2 });
    expect(await valuesOf(m.configHash)).toEqual({ 'hash=h2': 1 });
    expect(await valuesOf(m.upstreamServers)).toEqual({ 'upstream=web': 3 });
    expect(await histogram(m.eventToServingSeconds)).toEqual({ count: 2, sum: 1.04 });
  });

  it.each<[string, ApplyOutcome, Record<string, number>, number]>([
    ['a push failure', failure('push'), { 'result=success': 1 }, 1],
    [
      'a push failure after a reload went live',
      { ...failure('push'), reloaded: true },
      { 'result=success': 2 },
      1,
    ],
    ['a test failure', failure('test'), { 'result=success': 1, 'result=test_failed': 1 }, 0],
  ])('%s: reloads %j', async (_name, outcome, reloads, lastSuccess) => {
    const m = fresh();
    const hooks = reconcilerMetrics(m);
    hooks.onApply(success('good', { upstreams: [upstream('web', 1)] }));
    hooks.onApply(outcome);
    expect(await valuesOf(m.reloads)).toEqual(reloads);
    expect(await valuesOf(m.reconciles)).toEqual({ 'result=changed': 1, 'result=failed': 1 });
    expect(await valuesOf(m.lastReloadSuccess)).toEqual({ '': lastSuccess });
  });

  it('wired like the daemon: reloads count real reloads, pushes count in dynamic_updates', async () => {
    const m = fresh();
    const reloads: string[] = [];
    const target: ApplyTarget = {
      writeFiles: async () => undefined,
      test: async () => ({ ok: true, output: '', errors: [] }),
      reload: async () => {
        reloads.push('reload');
        return { durationMs: 1 };
      },
      commit: async () => undefined,
      rollback: async () => undefined,
    };
    // The control endpoint: up for the first three pushes, then refusing one.
    const outcomes = ['ok', 'ok', 'ok', 'refused'];
    const applier = createDynamicApplier({
      target,
      client: {
        pushEndpoints: async () => {
          if (outcomes.shift() === 'refused') {
            throw new DynamicControlError('push', 'unknown service', { status: 400, retryable: false });
          }
          return { version: 1 };
        },
      },
      metrics: m,
      minReloadIntervalMs: 0,
    });
    const files = {
      httpUpstreamsFile: '/n/upstreams.http.conf',
      preambleFile: '/n/dyn.conf',
      streamUpstreamsFile: '/n/upstreams.stream.conf',
      controlListen: '127.0.0.1:10255',
      luaPackagePath: '/lua',
    };
    const web = (...ports: number[]): Upstream => ({
      name: 'web',
      servers: ports.map((port) => ({ address: '10.0.0.1', port, taskArn: `t${port}` })),
    });
    const state$ = new BehaviorSubject<Upstream[]>([web(1)]);
    const reconciler = createReconciler<Upstream[]>({
      state$,
      render: (upstreams) => renderDynamicConfig(upstreams, files),
      applier,
      debounce: { minMs: 0, maxMs: 0 },
      minReloadIntervalMs: 0,
      metrics: reconcilerMetrics(m),
    });
    try {
      await reconciler.flush(); // structural: reload + full push
      state$.next([web(2)]);
      await reconciler.flush(); // endpoint-only: push
      state$.next([web(2, 3)]);
      await reconciler.flush(); // endpoint-only: push
      state$.next([web(4)]);
      await reconciler.flush(); // endpoint-only: refused
    } finally {
      await reconciler.stop();
      applier.close();
    }
    expect(reloads).toEqual(['reload']);
    expect(await valuesOf(m.reloads)).toEqual({ 'result=success': 1 });
    expect(await valuesOf(m.dynamicUpdates)).toEqual({ 'result=success': 3, 'result=rejected': 1 });
    expect(await valuesOf(m.reconciles)).toEqual({ 'result=changed': 3, 'result=failed': 1 });
    expect(await valuesOf(m.lastReloadSuccess)).toEqual({ '': 1 });
  });
});

describe('upstreamsOfMeta', () => {
  it.each<[string, unknown, boolean]>([
    ['undefined', undefined, false],
    ['a string', 'x', false],
    ['no upstreams', {}, false],
    ['upstreams not an array', { upstreams: 'x' }, false],
    ['an entry without servers', { upstreams: [{ name: 'a' }] }, false],
    ['an empty list', { upstreams: [] }, true],
    ['valid upstreams', { upstreams: [{ name: 'a', servers: [] }] }, true],
  ])('%s → %s', (_label, meta, found) => {
    expect(upstreamsOfMeta(meta) !== undefined).toBe(found);
  });
});

describe('store and source helpers', () => {
  it('recordStoreOutcome counts events applied by outcome only', async () => {
    const m = fresh();
    for (const outcome of ['applied', 'applied', 'stale', 'duplicate', 'ignored', 'invalid'] as const) {
      recordStoreOutcome(m, outcome);
    }
    expect(await valuesOf(m.eventsApplied)).toEqual({
      'outcome=applied': 2,
      'outcome=stale': 1,
      'outcome=duplicate': 1,
      'outcome=ignored': 1,
      'outcome=invalid': 1,
    });
    expect(await valuesOf(m.eventsReceived)).toEqual({});
  });

  it('recordEventReceived counts by source and detail type', async () => {
    const m = fresh();
    recordEventReceived(m, 'replay', 'ECS Task State Change');
    recordEventReceived(m, 'replay', 'ECS Task State Change');
    expect(await valuesOf(m.eventsReceived)).toEqual({
      'source=replay,detail_type=ECS Task State Change': 2,
    });
  });

  it('setUpstreamGauges replaces the previous set', async () => {
    const m = fresh();
    setUpstreamGauges(m, [upstream('a', 1), upstream('b', 4)]);
    setUpstreamGauges(m, [upstream('b', 2)]);
    expect(await valuesOf(m.upstreamServers)).toEqual({ 'upstream=b': 2 });
    expect(await valuesOf(m.upstreams)).toEqual({ '': 1 });
  });

  it('setUpstreamGauges touches only the series whose count changed', async () => {
    const m = fresh();
    setUpstreamGauges(m, [upstream('a', 1), upstream('b', 4), upstream('c', 0)]);
    const set = vi.spyOn(m.upstreamServers, 'set');
    const remove = vi.spyOn(m.upstreamServers, 'remove');
    setUpstreamGauges(m, [upstream('a', 1), upstream('b', 5), upstream('d', 2)]);
    expect(set.mock.calls).toEqual([
      [{ upstream: 'b' }, 5],
      [{ upstream: 'd' }, 2],
    ]);
    expect(remove.mock.calls).toEqual([[{ upstream: 'c' }]]);
    expect(await valuesOf(m.upstreamServers)).toEqual({ 'upstream=a': 1, 'upstream=b': 5, 'upstream=d': 2 });
  });

  it('setUpstreamGauges with the same names in place looks only at the new objects', async () => {
    const m = fresh();
    const a = upstream('a', 1);
    const b = upstream('b', 4);
    const c = upstream('c', 0);
    setUpstreamGauges(m, [a, b, c]);
    const set = vi.spyOn(m.upstreamServers, 'set');
    const remove = vi.spyOn(m.upstreamServers, 'remove');
    setUpstreamGauges(m, [a, b, c]);
    expect(set).not.toHaveBeenCalled();
    // b replaced by a new object with another count, c by a new object with the same count.
    setUpstreamGauges(m, [a, upstream('b', 2), upstream('c', 0)]);
    expect(set.mock.calls).toEqual([[{ upstream: 'b' }, 2]]);
    // A name changes place: the full comparison, which removes the series of the one gone.
    setUpstreamGauges(m, [a, upstream('d', 3)]);
    expect(remove.mock.calls).toEqual([[{ upstream: 'b' }], [{ upstream: 'c' }]]);
    expect(await valuesOf(m.upstreamServers)).toEqual({ 'upstream=a': 1, 'upstream=d': 3 });
  });

  it('each registry keeps its own published series', async () => {
    const m1 = fresh();
    const m2 = fresh();
    setUpstreamGauges(m1, [upstream('a', 1)]);
    setUpstreamGauges(m2, [upstream('a', 1)]);
    expect(await valuesOf(m2.upstreamServers)).toEqual({ 'upstream=a': 1 });
  });
});

describe('true from the first scrape', () => {
  it('a fresh registry: no failed reload, no load yet, every sync result and problem reason at 0', async () => {
    const m = createMetrics({ defaults: false });
    expect(await valuesOf(m.lastReloadSuccess)).toEqual({ '': 1 });
    expect(await valuesOf(m.lastReloadSuccessTimestamp)).toEqual({ '': 0 });
    const text = await m.registry.metrics();
    for (const series of [
      'ecs_ingress_full_syncs_total{result="success"} 0',
      'ecs_ingress_full_syncs_total{result="error"} 0',
      'ecs_ingress_nginx_reloads_total{result="test_failed"} 0',
      'ecs_ingress_aws_permanent_error{reason="no-credentials"} 0',
      'ecs_ingress_aws_permanent_error{reason="cluster-not-found"} 0',
      'ecs_ingress_aws_permanent_error{reason="access-denied"} 0',
    ]) {
      expect(text).toContain(series);
    }
  });

  it('recordStartedConfig: the config NGINX started with is in the hash, the upstream gauges and the last load', async () => {
    const m = createMetrics({ defaults: false });
    recordStartedConfig(m, { hash: 'h0', upstreams: [upstream('web', 2), upstream('api', 0)] }, () => 5_000);
    expect(await valuesOf(m.configHash)).toEqual({ 'hash=h0': 1 });
    expect(await valuesOf(m.upstreams)).toEqual({ '': 2 });
    expect(await valuesOf(m.upstreamServers)).toEqual({ 'upstream=web': 2, 'upstream=api': 0 });
    expect(await valuesOf(m.lastReloadSuccess)).toEqual({ '': 1 });
    expect(await valuesOf(m.lastReloadSuccessTimestamp)).toEqual({ '': 5 });
    // Starting is not a reload.
    expect(await valuesOf(m.reloads)).toEqual({});
  });

  it('recordNginxReload (a bundle): counted as a reload, success or failure', async () => {
    const m = createMetrics({ defaults: false });
    recordNginxReload(m, { ok: true, durationMs: 250 }, () => 7_000);
    expect(await valuesOf(m.reloads)).toEqual({ 'result=success': 1 });
    expect(await valuesOf(m.lastReloadSuccessTimestamp)).toEqual({ '': 7 });
    expect(await histogram(m.reloadDurationSeconds)).toEqual({ count: 1, sum: 0.25 });
    recordNginxReload(m, { ok: false, durationMs: 10 }, () => 9_000);
    expect(await valuesOf(m.reloads)).toEqual({ 'result=success': 1, 'result=reload_failed': 1 });
    expect(await valuesOf(m.lastReloadSuccess)).toEqual({ '': 0 });
    expect(await valuesOf(m.lastReloadSuccessTimestamp)).toEqual({ '': 7 });
  });

  it('syncMetrics: results counted; a permanent problem set until a success, kept through a transient failure', async () => {
    const m = createMetrics({ defaults: false });
    const onSync = syncMetrics(m);
    const problem = { reason: 'cluster-not-found', code: 'X', message: 'm', hint: 'h' } as const;
    onSync({ ok: false, error: new Error('x'), problem });
    expect((await valuesOf(m.awsPermanentError))['reason=cluster-not-found']).toBe(1);
    onSync({ ok: false, error: new Error('timeout'), problem: undefined });
    expect((await valuesOf(m.awsPermanentError))['reason=cluster-not-found']).toBe(1);
    onSync({ ok: true, report: {} as never });
    expect(Object.values(await valuesOf(m.awsPermanentError))).toEqual([0, 0, 0, 0]);
    expect(await valuesOf(m.fullSyncs)).toEqual({ 'result=success': 1, 'result=error': 2 });
  });
});
