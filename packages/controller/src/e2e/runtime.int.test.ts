/**
 * The runtime against a real NGINX on loopback: store → derivation → renderer → reconciler →
 * nginx-runner, with backends standing in for tasks. Events are builder-made and dispatched into
 * the store; `flush()` applies what is pending without waiting for the debounce.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { renderUpstreams } from '@ecs-ingress/renderer';
import { ClusterStore } from '@ecs-ingress/store';
import { snapshotEvent } from '@ecs-ingress/testkit';
import {
  makeTestPrefix,
  servedByTasks,
  serviceDefinition,
  type TaskRef,
  type TestPrefix,
  taskChange,
  tcpExchange,
} from '@ecs-ingress/testkit/e2e';
import { pidAlive, pollUntil } from '@ecs-ingress/testkit/net';
import { hasNginx } from '@ecs-ingress/testkit/nginx';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type BackendGroup, startBackendGroup } from '../demo/backends.js';
import type { ApplyFailure } from '../reconciler/pipeline.js';
import { type Runtime, type RuntimeAppliedChange, startRuntime } from '../runtime/runtime.js';

const HOSTS = ['127.0.0.41', '127.0.0.42', '127.0.0.43', '127.0.0.44'] as const;
const IDS = ['a', 'b', 'c', 'd'] as const;

describe.skipIf(!hasNginx)('runtime with a real NGINX', () => {
  let prefix: TestPrefix;
  let backends: BackendGroup;
  let store: ClusterStore;
  let runtime: Runtime | undefined;
  let applied: RuntimeAppliedChange[];
  let failures: ApplyFailure[];
  /** Confirmed NGINX reloads (the runner's own count, not the reconciler's). */
  let reloads: number;
  const task = (i: number): TaskRef => ({ id: IDS[i]!, service: 'web', host: HOSTS[i]! });

  beforeEach(async () => {
    prefix = await makeTestPrefix();
    backends = await startBackendGroup(HOSTS.map((host, i) => ({ host, service: 'web', shortId: IDS[i]! })));
    store = new ClusterStore();
    store.dispatch(snapshotEvent({ services: ['web'] }));
    store.dispatch(serviceDefinition('web', backends.port));
    applied = [];
    failures = [];
    reloads = 0;
  });

  afterEach(async () => {
    await runtime?.stop();
    runtime = undefined;
    await backends.close();
    await prefix.cleanup();
  });

  async function start(options: { debounce?: { minMs?: number; maxMs?: number } } = {}): Promise<Runtime> {
    runtime = startRuntime({
      nginx: { configFile: prefix.configFile, prefix: prefix.dir },
      upstreamsFile: prefix.upstreamsFile,
      store,
      ...options,
    });
    runtime.applied$.subscribe((change) => applied.push(change));
    runtime.failures$.subscribe((failure) => failures.push(failure));
    runtime.runner.onEvent((event) => {
      if (event.type === 'reloaded') reloads += 1;
    });
    await runtime.ready;
    return runtime;
  }

  function requestsOf(id: string): number {
    return backends.backends.find((b) => b.shortId === id)?.requests ?? Number.NaN;
  }

  it('serves exactly the admitted backends after each step; stopped and draining tasks get nothing', async () => {
    const rt = await start();
    const steps: {
      name: string;
      events: ReturnType<typeof taskChange>[];
      serving: string[];
      silent: string[];
    }[] = [
      {
        name: 'a and b run',
        events: [taskChange(task(0), 'RUNNING', 3), taskChange(task(1), 'RUNNING', 3)],
        serving: ['a', 'b'],
        silent: ['c', 'd'],
      },
      {
        name: 'c is PENDING (an IP alone admits nothing)',
        events: [taskChange(task(2), 'PENDING', 1)],
        serving: ['a', 'b'],
        silent: ['c'],
      },
      {
        name: 'c runs',
        events: [taskChange(task(2), 'RUNNING', 3)],
        serving: ['a', 'b', 'c'],
        silent: ['d'],
      },
      {
        name: 'a drains (desiredStatus STOPPED while RUNNING)',
        events: [taskChange(task(0), 'RUNNING', 4, { desiredStatus: 'STOPPED' })],
        serving: ['b', 'c'],
        silent: ['a'],
      },
      {
        name: 'a stops; a late RUNNING of a is dropped',
        events: [taskChange(task(0), 'STOPPED', 6), taskChange(task(0), 'RUNNING', 3)],
        serving: ['b', 'c'],
        silent: ['a'],
      },
      {
        name: 'b is interrupted (Fargate Spot)',
        events: [
          taskChange(task(1), 'RUNNING', 4, {
            desiredStatus: 'STOPPED',
            stopCode: 'SpotInterruption',
            stoppedReason: 'Your Spot Task was interrupted.',
          }),
        ],
        serving: ['c'],
        silent: ['a', 'b'],
      },
      {
        name: 'd replaces it',
        events: [taskChange(task(3), 'RUNNING', 3)],
        serving: ['c', 'd'],
        silent: ['a', 'b'],
      },
    ];
    for (const step of steps) {
      for (const event of step.events) store.dispatch(event);
      await rt.flush();
      for (const b of backends.backends) b.requests = 0;
      const { ids, statuses } = await servedByTasks(prefix.httpPort, 4 * step.serving.length);
      expect([...ids].sort(), step.name).toEqual(step.serving);
      expect([...statuses], step.name).toEqual([200]);
      for (const id of step.silent) expect(requestsOf(id), `${step.name}: ${id}`).toBe(0);
    }
    expect(failures).toEqual([]);
  });

  it('includes the same upstreams file in http and stream: nginx -t passes and TCP is proxied', async () => {
    const rt = await start();
    store.dispatch(taskChange(task(0), 'RUNNING', 3));
    await rt.flush();
    expect((await rt.runner.test()).ok).toBe(true);
    const text = await readFile(prefix.upstreamsFile, 'utf8');
    expect(text).toContain(`server ${HOSTS[0]}:${backends.port};`);
    const reply = await tcpExchange(prefix.streamPort, 'GET / HTTP/1.0\r\nHost: x\r\n\r\n');
    expect(reply).toMatch(/^HTTP\/1\.[01] 200/);
    expect(reply).toContain(`web task a ${HOSTS[0]}:${backends.port}`);
  });

  it.each([
    {
      name: 'the user config fails nginx -t',
      breakIt: (p: TestPrefix) => p.writeConfig({ broken: true }),
      change: (s: ClusterStore) => s.dispatch(taskChange(task(1), 'RUNNING', 3)),
      servingAfter: ['a', 'b', 'c'],
    },
    {
      name: 'a service name collides with an upstream the user defined',
      breakIt: (p: TestPrefix) => p.writeConfig({ userHttp: '  upstream legacy { server 127.0.0.1:1; }' }),
      change: (s: ClusterStore) => {
        s.dispatch(serviceDefinition('legacy', backends.port));
        s.dispatch(taskChange({ id: 'e', service: 'legacy', host: HOSTS[1] }, 'RUNNING', 3));
      },
      servingAfter: ['a', 'c'],
    },
  ])(
    'rolls back when $name: the old config keeps serving, the failure is reported, the next good change applies',
    async ({ breakIt, change, servingAfter }) => {
      const rt = await start();
      store.dispatch(taskChange(task(0), 'RUNNING', 3));
      await rt.flush();
      const good = await readFile(prefix.upstreamsFile, 'utf8');
      const reloadsBefore = applied.length;

      await breakIt(prefix);
      change(store);
      await rt.flush();
      expect(failures).toHaveLength(1);
      expect(failures[0]?.stage).toBe('test');
      expect(applied).toHaveLength(reloadsBefore);
      expect(await readFile(prefix.upstreamsFile, 'utf8')).toBe(good);
      expect((await servedByTasks(prefix.httpPort, 4)).ids).toEqual(new Set(['a']));

      // The user fixes the config; the next change that renders differently goes live.
      await prefix.writeConfig();
      store.dispatch(taskChange(task(2), 'RUNNING', 3));
      await rt.flush();
      expect(applied).toHaveLength(reloadsBefore + 1);
      expect(failures).toHaveLength(1);
      expect((await servedByTasks(prefix.httpPort, 8)).ids).toEqual(new Set(servingAfter));
    },
  );

  it('1,000 events within one second give at most 2 reloads', async () => {
    await start();
    // 250 tasks × PENDING, ACTIVATING, RUNNING, and a duplicate RUNNING: in 10 bursts 100 ms apart.
    const events = [];
    for (let i = 0; i < 250; i += 1) {
      const ref: TaskRef = {
        id: `s${i}`,
        service: 'web',
        host: `127.0.${1 + Math.floor(i / 200)}.${(i % 200) + 1}`,
      };
      events.push(
        taskChange(ref, 'PENDING', 1),
        taskChange(ref, 'ACTIVATING', 2),
        taskChange(ref, 'RUNNING', 3),
      );
      events.push(taskChange(ref, 'RUNNING', 3));
    }
    expect(events).toHaveLength(1000);
    for (let burst = 0; burst < 10; burst += 1) {
      for (const event of events.slice(burst * 100, (burst + 1) * 100)) store.dispatch(event);
      await new Promise((r) => setTimeout(r, 100));
    }
    // Bounded wait for the debounced apply (max 2 s after the first change) to land.
    expect(await pollUntil(() => runtime?.liveUpstreams()[0]?.servers.length === 250, 300, 20)).toBe(true);
    expect(applied.length).toBeGreaterThanOrEqual(1);
    expect(applied.length).toBeLessThanOrEqual(2);
    expect(reloads).toBe(applied.length);
  });

  it('1,000 no-op events (duplicates, PENDING → ACTIVATING) give 0 reloads', async () => {
    const rt = await start();
    store.dispatch(taskChange(task(0), 'RUNNING', 3));
    store.dispatch(taskChange(task(1), 'PENDING', 1));
    await rt.flush();
    const before = applied.length;
    const reloadsBefore = reloads;
    const workersBefore = await rt.runner.workerPids();
    for (let i = 0; i < 500; i += 1) store.dispatch(taskChange(task(0), 'RUNNING', 3));
    for (let i = 0; i < 500; i += 1) store.dispatch(taskChange(task(1), 'ACTIVATING', 2));
    await rt.flush();
    expect(applied.length).toBe(before);
    expect(reloads).toBe(reloadsBefore);
    // No SIGHUP went out: the same worker generation serves.
    expect(await rt.runner.workerPids()).toEqual(workersBefore);
    expect(failures).toEqual([]);
  });

  it('restarts NGINX after SIGKILL, serving the last applied config', async () => {
    const rt = await start();
    store.dispatch(taskChange(task(0), 'RUNNING', 3));
    store.dispatch(taskChange(task(1), 'RUNNING', 3));
    await rt.flush();
    const oldPid = rt.runner.masterPid;
    expect(oldPid).toBeDefined();
    process.kill(oldPid!, 'SIGKILL');
    expect(await pollUntil(() => rt.runner.isRunning() && rt.runner.masterPid !== oldPid, 500, 20)).toBe(
      true,
    );
    expect(pidAlive(oldPid!)).toBe(false);
    expect(
      await pollUntil(async () => (await servedByTasks(prefix.httpPort, 4)).ids.size === 2, 100, 50),
    ).toBe(true);
    expect((await servedByTasks(prefix.httpPort, 6)).ids).toEqual(new Set(['a', 'b']));
  });

  it('starts from the last known good upstreams file before the first sync, without an empty render', async () => {
    const first = await start();
    store.dispatch(taskChange(task(0), 'RUNNING', 3));
    await first.flush();
    await first.stop();

    // A new daemon: an empty store and a first sync that has not happened yet.
    const fresh = new ClusterStore();
    let syncDone!: () => void;
    runtime = startRuntime({
      nginx: { configFile: prefix.configFile, prefix: prefix.dir },
      upstreamsFile: prefix.upstreamsFile,
      store: fresh,
      startWhen: new Promise<void>((resolve) => {
        syncDone = resolve;
      }),
    });
    await runtime.ready;
    expect((await servedByTasks(prefix.httpPort, 4)).ids).toEqual(new Set(['a']));
    fresh.dispatch(snapshotEvent({ services: ['web'] }));
    fresh.dispatch(serviceDefinition('web', backends.port));
    fresh.dispatch(taskChange(task(1), 'RUNNING', 3));
    syncDone();
    // The gate opens, and the new state goes live without a flush (the gate skips the debounce).
    const live = await pollUntil(
      () =>
        runtime?.liveUpstreams()[0]?.servers.length === 1 &&
        runtime.liveUpstreams()[0]?.servers[0]?.address === HOSTS[1],
      200,
      20,
    );
    expect(live).toBe(true);
    await runtime.flush();
    expect((await servedByTasks(prefix.httpPort, 4)).ids).toEqual(new Set(['b']));
  });
  it('falls back to a fresh render when NGINX cannot start from the last known good file', async () => {
    const first = await start();
    store.dispatch(taskChange(task(0), 'RUNNING', 3));
    await first.flush();
    await first.stop();
    // A last-good file that is ours (valid hash) but no longer fits the user's config: it lacks
    // the upstream `web` that nginx.conf proxies to, so NGINX refuses to start from it.
    const stale = renderUpstreams([{ name: 'retired', servers: [] }]).text;
    await writeFile(`${prefix.upstreamsFile}.last-good`, stale);

    const fresh = new ClusterStore();
    fresh.dispatch(snapshotEvent({ services: ['web'] }));
    fresh.dispatch(serviceDefinition('web', backends.port));
    fresh.dispatch(taskChange(task(1), 'RUNNING', 3));
    runtime = startRuntime({
      nginx: { configFile: prefix.configFile, prefix: prefix.dir },
      upstreamsFile: prefix.upstreamsFile,
      store: fresh,
      startWhen: Promise.resolve(),
    });
    await runtime.ready;
    expect((await servedByTasks(prefix.httpPort, 4)).ids).toEqual(new Set(['b']));
    expect(await readFile(prefix.upstreamsFile, 'utf8')).toContain(`server ${HOSTS[1]}:`);
  });
});
