import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pollUntil } from '@ecs-ingress/testkit/net';
import { FakeNginxExec } from '@ecs-ingress/testkit/nginx';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NginxCrashLoopError, NginxReloadFailedError, NginxStartFailedError } from './errors.js';
import { NginxRunner } from './nginx-runner.js';
import type { NginxRunnerEvent, NginxRunnerOptions } from './runner-types.js';

describe('NginxRunner (fake exec)', () => {
  let dir: string;
  let exec: FakeNginxExec;
  let runner: NginxRunner;
  let events: NginxRunnerEvent[];

  function makeRunner(options: Partial<NginxRunnerOptions> = {}): NginxRunner {
    runner = new NginxRunner({
      prefix: dir,
      configFile: 'nginx.conf',
      exec,
      pollIntervalMs: 2,
      rejectSettleMs: 30,
      reloadTimeoutMs: 1_000,
      startTimeoutMs: 1_000,
      stopTimeoutMs: 50,
      killTimeoutMs: 50,
      orphanGraceMs: 50,
      restartBackoff: { initialMs: 5, maxMs: 20, maxRestartsInWindow: 3, windowMs: 60_000 },
      ...options,
    });
    events = [];
    runner.onEvent((e) => events.push(e));
    return runner;
  }

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nginx-runner-unit-'));
    await writeFile(join(dir, 'nginx.conf'), 'events {}\nhttp {}\n');
    exec = new FakeNginxExec();
  });

  afterEach(async () => {
    await runner?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('starts with -e stderr, -p, -c and -g "daemon off;" and resolves once a worker is up', async () => {
    const started = await makeRunner().start();
    expect(exec.spawned[0]?.args).toEqual([
      '-e',
      'stderr',
      '-p',
      dir,
      '-c',
      join(dir, 'nginx.conf'),
      '-g',
      'daemon off;',
    ]);
    expect(started.workerPids).toHaveLength(1);
    expect(runner.isRunning()).toBe(true);
    expect(runner.masterPid).toBe(started.pid);
    expect(events).toEqual([{ type: 'started', pid: started.pid, workerPids: started.workerPids }]);
  });

  it('fails start with the emerg lines and exit code when nginx exits', async () => {
    exec.spawnBehaviour = 'fail';
    const error = await makeRunner()
      .start()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NginxStartFailedError);
    expect(error).toMatchObject({
      code: 'ECS_INGRESS_NGINX_START_FAILED',
      exitCode: 1,
      nginxErrors: ['nginx: [emerg] unknown directive "bogus" in /etc/nginx/nginx.conf:3'],
    });
    expect(runner.isRunning()).toBe(false);
  });

  it('fails start when no worker appears in time, and kills the group', async () => {
    exec.spawnBehaviour = 'hang';
    const error = await makeRunner({ startTimeoutMs: 30 })
      .start()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NginxStartFailedError);
    expect(exec.signals).toContainEqual({ target: 1000, signal: 'SIGKILL', group: true });
  });

  it('confirms a reload by a new worker generation', async () => {
    const { workerPids: before } = await makeRunner().start();
    const result = await runner.reload();
    expect(result.workerPids).toHaveLength(1);
    expect(result.workerPids.some((p) => before.includes(p))).toBe(false);
    // Confirmed only once the old worker stopped accepting (retitled "is shutting down").
    const children = await exec.children(runner.masterPid!);
    expect(
      children.filter((c) => before.includes(c.pid)).every((c) => c.title.endsWith('shutting down')),
    ).toBe(true);
    expect(events.at(-1)).toMatchObject({ type: 'reloaded', workerPids: result.workerPids });
  });

  it.each([
    ['reject', 'rejected', 5_000, ['bind() to 127.0.0.1:8080 failed (98: Address already in use)']],
    ['ignore', 'timeout', 150, []],
  ] as const)(
    'a reload NGINX does not confirm (%s) throws reason %s with the emerg lines',
    async (hup, reason, reloadTimeoutMs, lines) => {
      const { workerPids: before } = await makeRunner({ reloadTimeoutMs }).start();
      exec.hupBehaviour = hup;
      const error = await runner.reload().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(NginxReloadFailedError);
      const failure = error as NginxReloadFailedError;
      expect(failure.code).toBe('ECS_INGRESS_NGINX_RELOAD_FAILED');
      expect(failure.reason).toBe(reason);
      expect(failure.nginxErrors.map((l) => l.replace(/^.*: /, ''))).toEqual(
        lines.map((l) => l.replace(/^.*: /, '')),
      );
      expect(events.at(-1)).toMatchObject({ type: 'reload-failed' });
      expect(await runner.workerPids()).toEqual(before);
    },
  );

  it('serialises concurrent reloads', async () => {
    await makeRunner().start();
    const results = await Promise.all([runner.reload(), runner.reload(), runner.reload()]);
    expect(exec.overlappingReloads).toBe(false);
    expect(new Set(results.flatMap((r) => r.workerPids)).size).toBe(3);
    expect(exec.signals.filter((s) => s.signal === 'SIGHUP')).toHaveLength(3);
  });

  it('refuses to reload when not running', async () => {
    const error = await makeRunner()
      .reload()
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ECS_INGRESS_NGINX_RELOAD_FAILED', reason: 'not-running' });
  });

  it('restarts a crashed master after clearing its orphaned workers', async () => {
    const first = await makeRunner().start();
    exec.crash(first.pid);
    expect(await pollUntil(() => events.some((e) => e.type === 'restarted'))).toBe(true);
    expect(exec.signals).toContainEqual({ target: first.pid, signal: 'SIGQUIT', group: true });
    expect(await exec.groupMembers(first.pid)).toEqual([]);
    expect(runner.masterPid).not.toBe(first.pid);
    expect(runner.isRunning()).toBe(true);
    expect(events.map((e) => e.type)).toEqual(['started', 'exited', 'restarted']);
    expect(events[1]).toMatchObject({ expected: false, signal: 'SIGKILL' });
    expect(events[2]).toMatchObject({ restarts: 1, attempt: 1 });
  });

  it('reports a crash loop after too many restarts within the window', async () => {
    await makeRunner({
      restartBackoff: { initialMs: 1, maxMs: 2, maxRestartsInWindow: 2, windowMs: 60_000 },
    }).start();
    for (let crash = 1; crash <= 3; crash += 1) {
      const pid = runner.masterPid;
      if (pid === undefined) throw new Error('expected a running master');
      exec.crash(pid);
      const wanted = crash <= 2 ? { type: 'restarted', count: crash } : { type: 'crashloop', count: 1 };
      const seen = () => events.filter((e) => e.type === wanted.type).length >= wanted.count;
      expect(await pollUntil(seen)).toBe(true);
    }
    const loop = events.find((e) => e.type === 'crashloop');
    expect(loop?.type === 'crashloop' && loop.error).toBeInstanceOf(NginxCrashLoopError);
    expect(loop).toMatchObject({ error: { code: 'ECS_INGRESS_NGINX_CRASHLOOP', restarts: 2 } });
    expect(runner.state).toBe('crashloop');
    expect(runner.isRunning()).toBe(false);
  });

  it('keeps restarting when a restart attempt itself fails, counting it against the window', async () => {
    const first = await makeRunner().start();
    exec.spawnQueue = ['fail'];
    exec.crash(first.pid);
    expect(await pollUntil(() => events.some((e) => e.type === 'restarted'))).toBe(true);
    expect(events.map((e) => e.type)).toEqual(['started', 'exited', 'restart-failed', 'restarted']);
    expect(events.find((e) => e.type === 'restarted')).toMatchObject({ attempt: 2 });
  });

  it('stops gracefully with SIGQUIT, emitting an expected exit', async () => {
    const { pid } = await makeRunner().start();
    await runner.stop();
    expect(exec.signals.filter((s) => s.target === pid).map((s) => s.signal)).toEqual(['SIGQUIT']);
    expect(events.at(-1)).toMatchObject({ type: 'exited', expected: true });
    expect(runner.state).toBe('stopped');
    expect(runner.masterPid).toBeUndefined();
  });

  it('escalates to SIGTERM when SIGQUIT is not obeyed within stopTimeoutMs', async () => {
    const { pid } = await makeRunner().start();
    exec.ignoreQuit = true;
    await runner.stop();
    expect(exec.signals.filter((s) => s.target === pid).map((s) => s.signal)).toEqual(['SIGQUIT', 'SIGTERM']);
    expect(await exec.groupMembers(pid)).toEqual([]);
  });

  it('cancels a pending restart on stop()', async () => {
    const first = await makeRunner({ restartBackoff: { initialMs: 10_000 } }).start();
    exec.crash(first.pid);
    expect(await pollUntil(() => events.some((e) => e.type === 'exited'))).toBe(true);
    await runner.stop();
    expect(runner.state).toBe('stopped');
    expect(exec.spawned).toHaveLength(1);
  });

  it('counts old generations among the workers', async () => {
    await makeRunner().start();
    exec.holdDraining = true;
    await runner.reload();
    await runner.reload();
    expect(await runner.workerCount()).toBe(3);
    exec.releaseDraining();
    expect(await runner.workerCount()).toBe(1);
  });

  it('test() runs nginx -t with the same arguments and returns the emerg lines', async () => {
    makeRunner();
    exec.runResult = {
      exitCode: 1,
      signal: undefined,
      output:
        'nginx: [emerg] unknown directive "x" in /p/nginx.conf:2\nnginx: configuration file /p/nginx.conf test failed\n',
    };
    const result = await runner.test();
    expect(exec.ran[0]).toEqual([
      '-t',
      '-e',
      'stderr',
      '-p',
      dir,
      '-c',
      join(dir, 'nginx.conf'),
      '-g',
      'daemon off;',
    ]);
    expect(result).toMatchObject({
      ok: false,
      errors: ['nginx: [emerg] unknown directive "x" in /p/nginx.conf:2'],
    });
    await expect(runner.testOrThrow()).rejects.toMatchObject({ code: 'ECS_INGRESS_NGINX_TEST_FAILED' });
  });

  it('test() reports a config the runner cannot supervise as failed, without running nginx', async () => {
    await writeFile(join(dir, 'nginx.conf'), 'daemon on;\nevents {}\n');
    const result = await makeRunner().test();
    expect(result.ok).toBe(false);
    expect(result.errors[0]).toMatch(/daemon on/);
    expect(exec.ran).toEqual([]);
  });

  it('test() leaves a missing main file for nginx to report', async () => {
    await rm(join(dir, 'nginx.conf'));
    exec.runResult = {
      exitCode: 1,
      signal: undefined,
      output: 'nginx: [emerg] open() "x" failed (2: No such file)',
    };
    expect(await makeRunner().test()).toMatchObject({
      ok: false,
      errors: ['nginx: [emerg] open() "x" failed (2: No such file)'],
    });
  });

  it('restores managed files from their last-good copies before the first start', async () => {
    const upstreams = join(dir, 'upstreams.conf');
    await writeFile(upstreams, 'half-applied');
    await writeFile(`${upstreams}.last-good`, 'good');
    await makeRunner({ managedFiles: [upstreams] }).start();
    expect(await NginxRunner.lastKnownGood(upstreams)).toBe('good');
    expect(await import('node:fs/promises').then((fs) => fs.readFile(upstreams, 'utf8'))).toBe('good');
  });
});
