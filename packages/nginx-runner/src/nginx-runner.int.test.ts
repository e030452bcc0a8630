/**
 * Against the real NGINX on loopback, in a temporary prefix. Skipped when /usr/sbin/nginx is absent.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server as HttpServer, type ServerResponse } from 'node:http';
import type { Server } from 'node:net';
import { freePort, get, holdPort, pidAlive, pollUntil } from '@ecs-ingress/testkit/net';
import {
  hasNginx,
  mainConfig,
  makePrefix,
  NGINX_BINARY,
  type NginxPrefix,
  returnServer,
} from '@ecs-ingress/testkit/nginx';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NginxReloadFailedError, NginxStartFailedError } from './errors.js';
import { NginxRunner } from './nginx-runner.js';
import type { NginxRunnerEvent } from './runner-types.js';

describe.skipIf(!hasNginx)('NginxRunner with real nginx', () => {
  let prefix: NginxPrefix;
  let runner: NginxRunner | undefined;
  let port: number;
  const events: NginxRunnerEvent[] = [];
  const cleanups: (() => Promise<void> | void)[] = [];

  function newRunner(extra: Partial<ConstructorParameters<typeof NginxRunner>[0]> = {}): NginxRunner {
    runner = new NginxRunner({
      nginxBinary: NGINX_BINARY,
      prefix: prefix.dir,
      configFile: prefix.configFile,
      stopTimeoutMs: 3_000,
      ...extra,
    });
    runner.onEvent((e) => events.push(e));
    return runner;
  }

  beforeEach(async () => {
    events.length = 0;
    prefix = await makePrefix();
    port = await freePort();
  });

  afterEach(async () => {
    const pids = [runner?.masterPid, ...((await runner?.workerPids()) ?? [])];
    await runner?.stop();
    runner = undefined;
    for (const cleanup of cleanups.splice(0)) await cleanup();
    // Belt and braces: nothing may outlive a test.
    for (const pid of pids) if (pid !== undefined && pidAlive(pid)) process.kill(pid, 'SIGKILL');
    await prefix.cleanup();
  });

  it('starts, serves, and stops leaving nothing running', async () => {
    await prefix.writeConfig(returnServer(port, 'gen1'));
    const r = newRunner();
    const started = await r.start();
    expect(started.workerPids).toHaveLength(1);
    expect(r.isRunning()).toBe(true);
    expect(await get(port)).toEqual({ status: 200, body: 'gen1' });

    const pids = [started.pid, ...started.workerPids];
    await r.stop();
    expect(r.isRunning()).toBe(false);
    expect(pids.filter(pidAlive)).toEqual([]);
    expect(events.map((e) => e.type)).toEqual(['started', 'exited']);
    expect(events[1]).toMatchObject({ type: 'exited', expected: true });
  });

  it('omits -g when the config already says daemon off', async () => {
    await prefix.writeConfig(returnServer(port, 'gen1'), 'daemon off;');
    const r = newRunner();
    await r.start();
    expect((await get(port)).body).toBe('gen1');
    expect((await r.test()).ok).toBe(true);
  });

  it('fails start with the emerg lines when the config is broken', async () => {
    await prefix.writeConfig(`${returnServer(port, 'gen1')}\n  bogus_directive on;`);
    const r = newRunner();
    const error = await r.start().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NginxStartFailedError);
    expect((error as NginxStartFailedError).code).toBe('ECS_INGRESS_NGINX_START_FAILED');
    expect((error as NginxStartFailedError).nginxErrors.join('\n')).toMatch(
      /unknown directive "bogus_directive"/,
    );
    expect(r.isRunning()).toBe(false);
  });

  it('reloads to a new config: serves gen2 from new worker pids', async () => {
    await prefix.writeConfig(returnServer(port, 'gen1'));
    const r = newRunner();
    const { workerPids: gen1Workers } = await r.start();

    await r.writeFiles([{ path: prefix.configFile, content: mainConfig(returnServer(port, 'gen2')) }]);
    const test = await r.test();
    expect(test).toMatchObject({ ok: true, errors: [] });
    const reload = await r.reload();
    await r.commit();

    expect(reload.workerPids.length).toBeGreaterThan(0);
    expect(reload.workerPids.filter((p) => gen1Workers.includes(p))).toEqual([]);
    expect(await get(port)).toEqual({ status: 200, body: 'gen2' });
    expect(events.some((e) => e.type === 'reloaded')).toBe(true);
    // Report a typical figure (not asserted: timing belongs to benchmarks).
    const durations: number[] = [reload.durationMs];
    for (let i = 3; i <= 7; i += 1) {
      await r.writeFiles([{ path: prefix.configFile, content: mainConfig(returnServer(port, `gen${i}`)) }]);
      durations.push((await r.reload()).durationMs);
      await r.commit();
    }
    expect(await get(port)).toEqual({ status: 200, body: 'gen7' });
    console.log(`reload confirm durations (ms): ${durations.map((d) => d.toFixed(1)).join(', ')}`);
  });

  it('reports a config failing nginx -t and rolls back; the old config keeps serving', async () => {
    await prefix.writeConfig(returnServer(port, 'gen1'));
    const r = newRunner();
    await r.start();
    const good = mainConfig(returnServer(port, 'gen1'));

    await r.writeFiles([
      {
        path: prefix.configFile,
        content: mainConfig(`${returnServer(port, 'gen2')}\n  proxy_pass_nowhere x;`),
      },
      { path: `${prefix.dir}/extra.conf`, content: '# did not exist before' },
    ]);
    const test = await r.test();
    expect(test.ok).toBe(false);
    expect(test.errors).toHaveLength(1);
    expect(test.errors[0]).toMatch(/\[emerg\] .*unknown directive "proxy_pass_nowhere"/);

    expect(await r.rollback()).toHaveLength(2);
    expect(await readFile(prefix.configFile, 'utf8')).toBe(good);
    expect(existsSync(`${prefix.dir}/extra.conf`)).toBe(false);
    expect((await r.test()).ok).toBe(true);
    expect(await get(port)).toEqual({ status: 200, body: 'gen1' });
  });

  it('throws with the emerg text when a config passing nginx -t fails at reload; old config keeps serving', async () => {
    await prefix.writeConfig(returnServer(port, 'gen1'));
    const r = newRunner({ reloadTimeoutMs: 10_000 });
    const { workerPids: before } = await r.start();
    const held: { port: number; server: Server } = await holdPort();
    cleanups.push(() => new Promise<void>((resolve) => held.server.close(() => resolve())));

    await r.writeFiles([
      {
        path: prefix.configFile,
        content: mainConfig(returnServer(port, 'gen2', `    listen 127.0.0.1:${held.port};`)),
      },
    ]);
    expect((await r.test()).ok).toBe(true);
    const error = await r.reload().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NginxReloadFailedError);
    const failure = error as NginxReloadFailedError;
    expect(failure.code).toBe('ECS_INGRESS_NGINX_RELOAD_FAILED');
    expect(failure.reason).toBe('rejected');
    expect(failure.nginxErrors.join('\n')).toMatch(
      new RegExp(`bind\\(\\) to 127\\.0\\.0\\.1:${held.port} failed`),
    );
    expect(events.some((e) => e.type === 'reload-failed')).toBe(true);

    await r.rollback();
    expect(await get(port)).toEqual({ status: 200, body: 'gen1' });
    expect(await r.workerPids()).toEqual(before);
  });

  it('restarts nginx killed with SIGKILL, serving the same files', async () => {
    await prefix.writeConfig(returnServer(port, 'gen1'));
    const r = newRunner({ restartBackoff: { initialMs: 50 } });
    const first = await r.start();

    process.kill(first.pid, 'SIGKILL');
    const restarted = await pollUntil(() => events.some((e) => e.type === 'restarted'), 500, 20);
    expect(restarted).toBe(true);
    expect(r.masterPid).not.toBe(first.pid);
    expect(events.find((e) => e.type === 'restarted')).toMatchObject({ restarts: 1, attempt: 1 });
    expect(events.find((e) => e.type === 'exited')).toMatchObject({ signal: 'SIGKILL', expected: false });
    expect(await get(port)).toEqual({ status: 200, body: 'gen1' });
    // The orphaned gen1 worker was cleared before the new master bound the port.
    expect(first.workerPids.filter(pidAlive)).toEqual([]);
  });

  it('counts an old worker generation kept alive by an in-flight request', async () => {
    let pending: ServerResponse | undefined;
    const backend: HttpServer = createServer((_req, res) => {
      pending = res;
    });
    await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => {
      pending?.end();
      return new Promise<void>((resolve) => backend.close(() => resolve()));
    });
    const address = backend.address();
    if (address === null || typeof address === 'string') throw new Error('no backend port');
    const proxy = (body: string) =>
      `  server {\n    listen 127.0.0.1:${port};\n    location /slow { proxy_pass http://127.0.0.1:${address.port}; }\n    location / { return 200 "${body}"; }\n  }`;

    await prefix.writeConfig(proxy('gen1'));
    const r = newRunner();
    await r.start();
    const slow = get(port, '/slow', 20_000);
    expect(await pollUntil(() => pending !== undefined)).toBe(true);

    await r.writeFiles([{ path: prefix.configFile, content: mainConfig(proxy('gen2')) }]);
    await r.reload();
    expect(await r.workerCount()).toBe(2);
    expect((await get(port)).body).toBe('gen2');

    pending?.end('slow done');
    expect(await slow).toEqual({ status: 200, body: 'slow done' });
    expect(await pollUntil(async () => (await r.workerCount()) === 1)).toBe(true);
  });
});
