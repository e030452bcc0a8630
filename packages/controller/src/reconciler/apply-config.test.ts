import { describe, expect, it } from 'vitest';
import { type ApplyTarget, applyConfig, createConfigApplier, type NginxTestResult } from './apply-config.js';
import { ConfigTestFailedError, ConfigWriteError, ReloadFailedError, RollbackFailedError } from './errors.js';
import type { RenderedConfig } from './types.js';

const config: RenderedConfig = {
  hash: 'h1',
  files: [{ path: 'upstreams.conf', content: 'upstream web { server 10.0.0.1:80; }\n' }],
};

interface Behaviour {
  writeFails?: boolean;
  test?: NginxTestResult | 'throws';
  /** One entry per reload call: how it ends. */
  reloads?: ('ok' | 'rejected' | 'runner-rejected' | 'unconfirmed')[];
  commitFails?: boolean;
  rollbackFails?: boolean;
}

/** A runner adapter that records each call in order. */
function fakeTarget(behaviour: Behaviour = {}) {
  const steps: string[] = [];
  const reloads = [...(behaviour.reloads ?? ['ok'])];
  const target: ApplyTarget = {
    async writeFiles(files) {
      steps.push(`write:${files.map((file) => file.path).join(',')}`);
      if (behaviour.writeFails) throw new Error('ENOSPC');
    },
    async test() {
      steps.push('test');
      if (behaviour.test === 'throws') throw new Error('spawn nginx ENOENT');
      return behaviour.test ?? { ok: true, output: 'syntax is ok', errors: [] };
    },
    async reload() {
      steps.push('reload');
      const outcome = reloads.shift() ?? 'ok';
      if (outcome === 'rejected') {
        throw Object.assign(new Error('[emerg] host not found in upstream'), { configRejected: true });
      }
      if (outcome === 'runner-rejected') {
        // nginx-runner's NginxReloadFailedError shape.
        throw Object.assign(new Error('reload refused'), { reason: 'rejected', nginxErrors: ['[emerg] x'] });
      }
      if (outcome === 'unconfirmed') throw new Error('no new worker generation within 5000 ms');
      return { durationMs: 12 };
    },
    async commit() {
      steps.push('commit');
      if (behaviour.commitFails) throw new Error('EACCES');
    },
    async rollback() {
      steps.push('rollback');
      if (behaviour.rollbackFails) throw new Error('EIO');
    },
  };
  return { target, steps };
}

describe('applyConfig', () => {
  it('success: write, test, reload, commit — in that order', async () => {
    const { target, steps } = fakeTarget();
    const result = await applyConfig(config, { target });
    expect(result).toMatchObject({ ok: true, reloadDurationMs: 12 });
    expect(steps).toEqual(['write:upstreams.conf', 'test', 'reload', 'commit']);
  });

  it.each([
    {
      name: 'test failure',
      behaviour: { test: { ok: false, output: 'nginx: [emerg] unknown directive', errors: ['[emerg] x'] } },
      stage: 'test',
      errorType: ConfigTestFailedError,
      steps: ['write:upstreams.conf', 'test', 'rollback'],
    },
    {
      name: 'test that cannot run',
      behaviour: { test: 'throws' as const },
      stage: 'test',
      errorType: ConfigTestFailedError,
      steps: ['write:upstreams.conf', 'test', 'rollback'],
    },
    {
      name: 'write failure',
      behaviour: { writeFails: true },
      stage: 'write',
      errorType: ConfigWriteError,
      steps: ['write:upstreams.conf', 'rollback'],
    },
    {
      name: 'reload refused by NGINX (old config still live)',
      behaviour: { reloads: ['rejected' as const] },
      stage: 'reload',
      errorType: ReloadFailedError,
      steps: ['write:upstreams.conf', 'test', 'reload', 'rollback'],
    },
    {
      name: 'reload refused, reported the nginx-runner way',
      behaviour: { reloads: ['runner-rejected' as const] },
      stage: 'reload',
      errorType: ReloadFailedError,
      steps: ['write:upstreams.conf', 'test', 'reload', 'rollback'],
    },
    {
      name: 'reload not confirmed (new config may be live)',
      behaviour: { reloads: ['unconfirmed' as const, 'ok' as const] },
      stage: 'reload',
      errorType: ReloadFailedError,
      steps: ['write:upstreams.conf', 'test', 'reload', 'rollback', 'reload'],
    },
    {
      name: 'reload not confirmed and rollback failed (no reload of the bad files)',
      behaviour: { reloads: ['unconfirmed' as const], rollbackFails: true },
      stage: 'reload',
      errorType: ReloadFailedError,
      steps: ['write:upstreams.conf', 'test', 'reload', 'rollback'],
    },
    {
      name: 'reload not confirmed, and the reload of the restored files fails too',
      behaviour: { reloads: ['unconfirmed' as const, 'unconfirmed' as const] },
      stage: 'reload',
      errorType: ReloadFailedError,
      steps: ['write:upstreams.conf', 'test', 'reload', 'rollback', 'reload'],
    },
  ])(
    '$name: rolls back, never commits, reports stage $stage',
    async ({ behaviour, stage, errorType, steps }) => {
      const fake = fakeTarget(behaviour as Behaviour);
      const result = await applyConfig(config, { target: fake.target });
      expect(result.ok).toBe(false);
      if (result.ok) return;
      expect(result.stage).toBe(stage);
      expect(result.error).toBeInstanceOf(errorType);
      expect(fake.steps).toEqual(steps);
    },
  );

  it('a test failure carries the NGINX diagnostics and a stable code', async () => {
    const output = 'nginx: [emerg] invalid port in "10.0.0.1:0" in /x/upstreams.conf:2\nnginx: test failed';
    const { target } = fakeTarget({ test: { ok: false, output, errors: ['invalid port in "10.0.0.1:0"'] } });
    const result = await applyConfig(config, { target });
    if (result.ok) throw new Error('expected a failure');
    const error = result.error as ConfigTestFailedError;
    expect(error.code).toBe('ECS_INGRESS_CONFIG_TEST_FAILED');
    expect(error.diagnostics).toEqual(['invalid port in "10.0.0.1:0"']);
    expect(error.output).toBe(output);
    expect(error.message).toContain('invalid port');
  });

  it.each([
    { reloads: ['rejected' as const], configRejected: true, restored: true },
    { reloads: ['unconfirmed' as const, 'ok' as const], configRejected: false, restored: true },
  ])(
    'a reload failure says whether NGINX refused the files ($configRejected)',
    async ({ reloads, configRejected, restored }) => {
      const { target } = fakeTarget({ reloads });
      const result = await applyConfig(config, { target });
      if (result.ok) throw new Error('expected a failure');
      const error = result.error as ReloadFailedError;
      expect(error.code).toBe('ECS_INGRESS_RELOAD_FAILED');
      expect({ configRejected: error.configRejected, restored: error.restored }).toEqual({
        configRejected,
        restored,
      });
      expect(error.cause).toBeInstanceOf(Error);
    },
  );

  it('a commit failure is logged but the apply counts: NGINX serves the new config', async () => {
    const { target, steps } = fakeTarget({ commitFails: true });
    const codes: unknown[] = [];
    const logger = {
      trace: () => {},
      debug: () => {},
      info: () => {},
      warn: (obj: unknown) => codes.push((obj as { code?: unknown }).code),
      error: (obj: unknown) => codes.push((obj as { code?: unknown }).code),
      fatal: () => {},
      child: () => logger,
    };
    const result = await applyConfig(config, { target, logger });
    expect(result.ok).toBe(true);
    expect(steps).toEqual(['write:upstreams.conf', 'test', 'reload', 'commit']);
    expect(codes).toEqual(['ECS_INGRESS_COMMIT_FAILED']);
  });

  it('logs a failed rollback with its own code', async () => {
    const { target } = fakeTarget({ test: { ok: false, output: 'bad', errors: [] }, rollbackFails: true });
    const codes: unknown[] = [];
    const logger = {
      trace: () => {},
      debug: () => {},
      info: () => {},
      warn: (obj: unknown) => codes.push((obj as { code?: unknown }).code),
      error: (obj: unknown) => codes.push((obj as { code?: unknown }).code),
      fatal: () => {},
      child: () => logger,
    };
    await applyConfig(config, { target, logger });
    expect(codes).toEqual(['ECS_INGRESS_CONFIG_TEST_FAILED', new RollbackFailedError('x').code]);
  });

  it('createConfigApplier applies through the target', async () => {
    const { target, steps } = fakeTarget();
    const applier = createConfigApplier({ target });
    const result = await applier.apply(config, { changedSince: 0 });
    expect(result.ok).toBe(true);
    expect(steps).toContain('commit');
  });
});
