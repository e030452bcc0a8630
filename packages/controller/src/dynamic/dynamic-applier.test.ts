import type { Upstream } from '@ecs-ingress/types';
import { afterEach, describe, expect, it } from 'vitest';
import type { ApplyTarget } from '../reconciler/apply-config.js';
import { createDynamicApplier, type DynamicApplier, type DynamicUpdateResult } from './dynamic-applier.js';
import { renderDynamicConfig } from './dynamic-render.js';
import { DynamicControlError } from './errors.js';

const OPTIONS = {
  httpUpstreamsFile: '/n/upstreams.conf',
  preambleFile: '/n/pre.conf',
  streamUpstreamsFile: '/n/stream.conf',
  controlListen: '127.0.0.1:10255',
  luaPackagePath: '/lua',
};
const up = (name: string, ...ports: number[]): Upstream => ({
  name,
  servers: ports.map((port) => ({ address: '10.0.0.1', port, taskArn: `t${port}` })),
});
const render = (...upstreams: Upstream[]) => renderDynamicConfig(upstreams, OPTIONS);
const CTX = { changedSince: 0 };

function fakeTarget(calls: string[], opts: { testOk?: boolean } = {}): ApplyTarget {
  return {
    writeFiles: async (files) => {
      calls.push(`write ${files.length}`);
    },
    test: async () => {
      calls.push('test');
      return { ok: opts.testOk ?? true, output: '', errors: [] };
    },
    reload: async () => {
      calls.push('reload');
      return { durationMs: 1 };
    },
    commit: async () => calls.push('commit'),
    rollback: async () => calls.push('rollback'),
  };
}

type Outcome = 'ok' | 'refused' | 'down';

function fakeClient(calls: string[], outcomes: Outcome[] = []) {
  let version = 0;
  return {
    pushEndpoints: async (services: Readonly<Record<string, readonly string[]>>) => {
      const outcome = outcomes.shift() ?? 'ok';
      calls.push(`push ${JSON.stringify(services)}${outcome === 'ok' ? '' : ` ${outcome}`}`);
      if (outcome === 'refused') {
        throw new DynamicControlError('push', 'unknown service x', { status: 400, retryable: false });
      }
      if (outcome === 'down') throw new DynamicControlError('push', 'ECONNREFUSED', { retryable: true });
      version += 1;
      return { version };
    },
  };
}

function fakeRunner() {
  const listeners = new Set<(event: { type: string }) => void>();
  return {
    onEvent(listener: (event: { type: string }) => void) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    emit(type: string) {
      for (const listener of listeners) listener({ type });
    },
  };
}

describe('createDynamicApplier', () => {
  let applier: DynamicApplier | undefined;
  afterEach(() => applier?.close());

  function make(calls: string[], extra: { outcomes?: Outcome[]; testOk?: boolean } = {}) {
    const results: DynamicUpdateResult[] = [];
    applier = createDynamicApplier({
      target: fakeTarget(calls, extra.testOk === undefined ? {} : { testOk: extra.testOk }),
      client: fakeClient(calls, extra.outcomes),
      metrics: { dynamicUpdates: { inc: ({ result }) => results.push(result) } },
      minReloadIntervalMs: 0,
      retryBaseDelayMs: 1,
      retryMaxDelayMs: 2,
      pushAttempts: 3,
      repairDelayMs: 60_000,
    });
    return { applier, results };
  }

  it('reloads then pushes the full set on the first apply; pushes only changed services after', async () => {
    const calls: string[] = [];
    const { applier, results } = make(calls);
    expect(await applier.apply(render(up('web', 1), up('api', 2)), CTX)).toMatchObject({ ok: true });
    expect(calls).toEqual([
      'write 3',
      'test',
      'reload',
      'commit',
      'push {"api":["10.0.0.1:2"],"web":["10.0.0.1:1"]}',
    ]);
    expect(applier.ready()).toBe(true);

    calls.length = 0;
    expect(await applier.apply(render(up('web', 1, 3), up('api', 2)), CTX)).toMatchObject({
      ok: true,
      reloaded: false,
    });
    expect(calls).toEqual(['push {"web":["10.0.0.1:1","10.0.0.1:3"]}']);

    calls.length = 0;
    expect(await applier.apply(render(up('web', 3), up('api', 2), up('new')), CTX)).toMatchObject({
      ok: true,
    });
    expect(calls).toEqual([
      'write 3',
      'test',
      'reload',
      'commit',
      'push {"api":["10.0.0.1:2"],"new":[],"web":["10.0.0.1:3"]}',
    ]);
    expect(applier.stats()).toEqual({ reloads: 2, pushes: 3, fullPushes: 2 });
    expect(results).toEqual(['success', 'success', 'success']);
  });

  it('retries a push that failed to connect, then succeeds', async () => {
    const calls: string[] = [];
    const { applier, results } = make(calls, { outcomes: ['ok', 'down', 'down'] });
    await applier.apply(render(up('web', 1)), CTX);
    expect(await applier.apply(render(up('web', 2)), CTX)).toMatchObject({ ok: true });
    expect(calls.filter((c) => c.startsWith('push')).length).toBe(4);
    expect(results).toEqual(['success', 'retried', 'retried', 'success']);
  });

  it('reports a refused push without retrying it, and re-sends the service with the next change', async () => {
    const calls: string[] = [];
    const { applier, results } = make(calls, { outcomes: ['ok', 'refused'] });
    await applier.apply(render(up('web', 1), up('api', 9)), CTX);
    const result = await applier.apply(render(up('web', 2), up('api', 9)), CTX);
    expect(result).toMatchObject({ ok: false, stage: 'push', error: { status: 400 } });
    expect(result).not.toHaveProperty('reloaded');
    expect(results).toEqual(['success', 'rejected']);
    calls.length = 0;
    await applier.apply(render(up('web', 2), up('api', 8)), CTX);
    // web was never confirmed at :2, so it goes again with api.
    expect(calls).toEqual(['push {"api":["10.0.0.1:8"],"web":["10.0.0.1:2"]}']);
  });

  it('gives up after the attempts and fails the apply', async () => {
    const calls: string[] = [];
    const { applier, results } = make(calls, { outcomes: ['ok', 'down', 'down', 'down'] });
    await applier.apply(render(up('web', 1)), CTX);
    const result = await applier.apply(render(up('web', 2)), CTX);
    expect(result).toMatchObject({ ok: false, error: { code: 'ECS_INGRESS_DYNAMIC_PUSH_FAILED' } });
    expect(results).toEqual(['success', 'retried', 'retried', 'failed']);
  });

  it('reports a push that failed after a reload went live as stage push, reloaded', async () => {
    const calls: string[] = [];
    const { applier, results } = make(calls, { outcomes: ['down', 'down', 'down'] });
    const result = await applier.apply(render(up('web', 1)), CTX);
    expect(result).toMatchObject({ ok: false, stage: 'push', reloaded: true });
    expect(calls.slice(0, 4)).toEqual(['write 3', 'test', 'reload', 'commit']);
    expect(results).toEqual(['retried', 'retried', 'failed']);
  });

  it('keeps pushing endpoint changes of live services when a structural apply fails its test', async () => {
    const calls: string[] = [];
    const { applier } = make(calls);
    await applier.apply(render(up('web', 1)), CTX);
    calls.length = 0;
    // Replace the target's verdict: a failing `nginx -t`.
    const failing = createDynamicApplier({
      target: fakeTarget(calls, { testOk: false }),
      client: fakeClient(calls),
      minReloadIntervalMs: 0,
    });
    failing.setInitial(render(up('web', 1)));
    await failing.pushAll();
    calls.length = 0;
    const result = await failing.apply(render(up('web', 2), up('api', 3)), CTX);
    failing.close();
    expect(result).toMatchObject({ ok: false, stage: 'test' });
    expect(calls).toEqual(['write 3', 'test', 'rollback', 'push {"web":["10.0.0.1:2"]}']);
  });

  it('pushes the full set after a (re)start and is not ready until then', async () => {
    const calls: string[] = [];
    const runner = fakeRunner();
    applier = createDynamicApplier({
      target: fakeTarget(calls),
      client: fakeClient(calls),
      runner,
      minReloadIntervalMs: 0,
    });
    applier.setInitial(render(up('web', 1), up('api')));
    expect(calls).toEqual([]);
    expect(applier.ready()).toBe(false);
    runner.emit('started');
    await applier.whenReady();
    expect(calls).toEqual(['push {"api":[],"web":["10.0.0.1:1"]}']);

    await applier.apply(render(up('web', 2), up('api')), CTX);
    runner.emit('exited');
    expect(applier.ready()).toBe(false);
    runner.emit('restarted');
    expect(applier.ready()).toBe(false);
    await applier.whenReady();
    expect(calls.at(-1)).toBe('push {"api":[],"web":["10.0.0.1:2"]}');
    expect(applier.stats().fullPushes).toBe(2);
  });

  it('pushedEndpoints(): what NGINX confirmed, per service with the version of its push; empty after a restart', async () => {
    const calls: string[] = [];
    const runner = fakeRunner();
    applier = createDynamicApplier({
      target: fakeTarget(calls),
      client: fakeClient(calls),
      runner,
      minReloadIntervalMs: 0,
    });
    applier.setInitial(render(up('web', 1), up('api')));
    expect(applier.pushedEndpoints()).toEqual([]);
    runner.emit('started');
    await applier.whenReady();
    await applier.apply(render(up('web', 1, 2), up('api')), CTX);
    expect(applier.pushedEndpoints()).toEqual([
      { service: 'api', endpoints: [], version: 1 },
      { service: 'web', endpoints: ['10.0.0.1:1', '10.0.0.1:2'], version: 2 },
    ]);
    runner.emit('exited');
    runner.emit('restarted');
    expect(applier.pushedEndpoints()).toEqual([]);
    await applier.whenReady();
    expect(applier.pushedEndpoints().map((e) => e.version)).toEqual([3, 3]);
  });

  it('refuses a config that renderDynamicConfig did not render', async () => {
    const calls: string[] = [];
    const { applier } = make(calls);
    const result = await applier.apply({ hash: 'x', files: [] }, CTX);
    expect(result).toMatchObject({ ok: false, stage: 'unexpected' });
    expect(calls).toEqual([]);
  });
});
