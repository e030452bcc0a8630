/**
 * A deploy and a rollback that MOVE a route (issue 16: "deployments never drop a route"), end to
 * end: `ecs-ingress run` as a child process, real NGINX on loopback, the wire-level ECS/EC2 fake
 * (polling, no queue), backends on 127.0.0.x. Revision 1 publishes `shop.example.com/v1`, revision
 * 2 `/v2`. A client follows the route every 25 ms on fresh connections: it asks the path it
 * believes current and, on a 404, the other one at once. The route moves once each way, and at no
 * point (in no NGINX config generation) does neither path answer; never a 5xx or a connection error.
 */
import { randomUUID } from 'node:crypto';
import { request } from 'node:http';
import type { Task } from '@aws-sdk/client-ecs';
import { buildAwsvpcTask, buildTaskDefinition } from '@ecs-ingress/testkit/aws';
import {
  type DaemonProcess,
  daemonBaseEnv,
  makeRoutesBundle,
  spawnDaemon,
  type TestBundle,
  untilDaemon,
  useDaemonWorld,
} from '@ecs-ingress/testkit/e2e';
import { type Backend, freePort, get, startBackend } from '@ecs-ingress/testkit/net';
import { hasNginx } from '@ecs-ingress/testkit/nginx';
import { describe, expect, it } from 'vitest';

const HOST = 'shop.example.com';

const world = useDaemonWorld({ fauxqs: false });

interface Answer {
  readonly status: number;
  readonly body: string;
  /** The NGINX worker that answered (the bundle adds `X-Worker-Pid: $pid`): one per config generation. */
  readonly pid: string;
}

/** GET `path` with the route's Host on a fresh connection (status 0: no answer). */
function hostGet(port: number, path: string): Promise<Answer> {
  return new Promise((resolve) => {
    const headers = { host: HOST, connection: 'close' };
    const req = request({ host: '127.0.0.1', port, path, agent: false, headers, timeout: 2000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      const pid = String(res.headers['x-worker-pid'] ?? '?');
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, pid }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (error) => resolve({ status: 0, body: String(error), pid: '-' }));
    req.end();
  });
}

/** A bundle whose only http content is the route files ecs-ingress writes. */
async function routesBundle(): Promise<TestBundle & { port: number }> {
  const bundle = await makeRoutesBundle(() => [
    '  proxy_connect_timeout 2s;',
    '  proxy_next_upstream off;',
    '  # Which worker answered: with one worker per generation, which config served the request.',
    '  add_header X-Worker-Pid $pid always;',
  ]);
  world.defer(() => bundle.cleanup());
  return { ...bundle, port: bundle.nginxPort };
}

/**
 * Follows the route every 25 ms until stopped (bounded: 10 minutes at most): asks the path it
 * believes current and, on a 404, the other one at once. Every answer is filed under the NGINX
 * worker that gave it, i.e. under its config generation: a reload runs the old and the new
 * generation side by side for a moment (NGINX's master waits 100 ms before it stops the old
 * workers), so two consecutive requests may see two configs — what must hold is that every
 * generation serves the route on exactly one path, and that the generations move from /v1 to /v2
 * and back exactly once. Anything but 200 or 404, or no answer, is a failure.
 */
function startFollower(port: number, first: '/v1' | '/v2') {
  let current: string = first;
  let running = true;
  let total = 0;
  const failures: string[] = [];
  /** Per worker pid, in the order first seen: the paths it answered 200 and 404. */
  const generations = new Map<string, { ok: Set<string>; notFound: Set<string> }>();
  const file = (path: string, answer: Answer) => {
    total++;
    if (answer.status !== 200 && answer.status !== 404) {
      failures.push(`${path} ${answer.status} ${answer.body.slice(0, 60)}`);
      return;
    }
    let generation = generations.get(answer.pid);
    if (generation === undefined) {
      generation = { ok: new Set(), notFound: new Set() };
      generations.set(answer.pid, generation);
    }
    (answer.status === 200 ? generation.ok : generation.notFound).add(path);
  };
  const loop = (async () => {
    for (let i = 0; running && i < 24_000; i++) {
      const started = Date.now();
      const other = current === '/v1' ? '/v2' : '/v1';
      const answer = await hostGet(port, current);
      file(current, answer);
      if (answer.status === 404) {
        const moved = await hostGet(port, other);
        file(other, moved);
        if (moved.status === 200) current = other;
      }
      await new Promise((r) => setTimeout(r, Math.max(0, 25 - (Date.now() - started))));
    }
  })();
  return {
    failures,
    /** Each generation's verdict: the path it served, or what was wrong with it. */
    verdicts(): string[] {
      return [...generations.values()].map(({ ok, notFound }) => {
        const served = [...ok].sort().join('+');
        if (ok.size === 1 && !notFound.has(served)) return served;
        if (ok.size === 0) return notFound.size === 2 ? 'neither path' : 'unknown';
        return `inconsistent: 200 ${served}, 404 ${[...notFound].sort().join('+')}`;
      });
    },
    get total() {
      return total;
    },
    async stop() {
      running = false;
      await loop;
    },
  };
}

/** `untilDaemon` at this file's pace: 300 × 50 ms. */
function until<T>(what: string, daemon: DaemonProcess, probe: () => Promise<T | undefined>): Promise<T> {
  return untilDaemon(what, daemon, probe, { rounds: 300, intervalMs: 50 });
}

describe.skipIf(!hasNginx)('a deploy and a rollback that move a route (end to end)', () => {
  it('the client following the route never meets a config where neither path answers, nor a 5xx', async () => {
    const cluster = `route-deploy-${randomUUID().slice(0, 8)}`;
    world.aws.ecs.addCluster(cluster);
    world.aws.ecs.putService('shop', { cluster });
    const bundle = await routesBundle();
    const containerPort = await freePort();
    const revision = (n: number, path: string) =>
      world.aws.ecs.putTaskDefinition(
        buildTaskDefinition({
          family: 'shop',
          revision: n,
          networkMode: 'awsvpc',
          containers: [
            {
              name: 'app',
              containerPort,
              dockerLabels: { 'ecs-ingress.http.hosts': HOST, 'ecs-ingress.http.path': path },
            },
          ],
        }),
      ).taskDefinitionArn!;
    const rev1 = revision(1, '/v1');
    let clock = Date.now();
    const running: { task: Task; backend: Backend }[] = [];
    /** A task of `taskDefinitionArn` at `ip`, created after every earlier one, with its backend. */
    const startTask = async (name: string, ip: string, taskDefinitionArn: string) => {
      const backend = await startBackend(name, ip, containerPort);
      world.defer(() => backend.close());
      clock += 1000;
      const task = world.aws.ecs.putTask(
        buildAwsvpcTask({ cluster, service: 'shop', ip, taskDefinitionArn, createdAt: new Date(clock) }),
      );
      running.push({ task, backend });
    };
    await startTask('v1-a', '127.0.0.11', rev1);
    await startTask('v1-b', '127.0.0.12', rev1);

    const daemon = await spawnDaemon({
      ...daemonBaseEnv(world.aws.url, cluster, bundle),
      AWS_ENDPOINT_URL_EVENTBRIDGE: world.aws.url,
      ECS_INGRESS_QUEUE_MODE: 'none',
      ECS_INGRESS_ROUTES_HTTP_LISTEN: `127.0.0.1:${bundle.port}`,
      ECS_INGRESS_DEBOUNCE_MIN: '50ms',
      ECS_INGRESS_DEBOUNCE_MAX: '300ms',
      ECS_INGRESS_MIN_RELOAD_INTERVAL: '100ms',
      ECS_INGRESS_POLL_INTERVAL: '300ms',
      ECS_INGRESS_LOG_LEVEL: 'info',
    });
    world.defer(() => daemon.kill(5000));
    await until('the daemon to be ready', daemon, async () =>
      (await get(`${daemon.adminUrl}/readyz`)).status === 200 ? true : undefined,
    );
    await until(`${HOST}/v1 to serve`, daemon, async () =>
      (await hostGet(bundle.port, '/v1')).status === 200 ? true : undefined,
    );

    const client = startFollower(bundle.port, '/v1');
    world.defer(() => client.stop());
    /** The served task names of `path`, from `count` requests. */
    const servedOn = async (path: string, count: number) => {
      const names = new Set<string>();
      for (let i = 0; i < count; i++) names.add((await hostGet(bundle.port, path)).body);
      return names;
    };
    /**
     * Moves the service to `taskDefinitionArn` as ECS does: new tasks first (the first one admitted
     * switches the route), then the old ones drain (desiredStatus STOPPED takes them out at once),
     * and stop once NGINX no longer sends them anything.
     */
    const deploy = async (taskDefinitionArn: string, path: string, tasks: [string, string][]) => {
      const olds = running.splice(0);
      const sent = Date.now();
      for (const [name, ip] of tasks) {
        await startTask(name, ip, taskDefinitionArn);
        await until(`${name} to serve ${path}`, daemon, async () =>
          (await servedOn(path, 6)).has(name) ? true : undefined,
        );
      }
      const switchedMs = Date.now() - sent;
      for (const old of olds) {
        world.aws.ecs.updateTask(old.task.taskArn!, { desiredStatus: 'STOPPED', lastStatus: 'DEACTIVATING' });
      }
      await until('the old tasks to leave the upstream', daemon, async () => {
        const upstreams = (await get(`${daemon.debugUrl}/debug/upstreams`)).body;
        return olds.every((o) => !upstreams.includes(`${o.backend.host}:`)) ? true : undefined;
      });
      await new Promise((r) => setTimeout(r, 200));
      for (const old of olds) {
        await old.backend.close();
        world.aws.ecs.updateTask(old.task.taskArn!, { lastStatus: 'STOPPED' });
      }
      return switchedMs;
    };

    await new Promise((r) => setTimeout(r, 300));
    const rev2 = revision(2, '/v2');
    const deployMs = await deploy(rev2, '/v2', [
      ['v2-a', '127.0.0.21'],
      ['v2-b', '127.0.0.22'],
    ]);
    expect([...(await servedOn('/v2', 8))].sort()).toEqual(['v2-a', 'v2-b']);
    expect((await hostGet(bundle.port, '/v1')).status).toBe(404);
    await new Promise((r) => setTimeout(r, 300));
    // Rollback: a new deployment of revision 1; its tasks are the newest, so /v1 comes back.
    const rollbackMs = await deploy(rev1, '/v1', [
      ['v1r-a', '127.0.0.13'],
      ['v1r-b', '127.0.0.14'],
    ]);
    await new Promise((r) => setTimeout(r, 300));
    await client.stop();

    console.log(
      `route moved by a deploy (${deployMs} ms) and a rollback (${rollbackMs} ms, new tasks serving); ` +
        `${client.total} requests following it over ${client.verdicts().length} NGINX generations, ${client.failures.length} failed`,
    );
    expect(client.failures).toEqual([]);
    // Every config generation served the route on one path; /v1 → /v2 → /v1, one switch each way
    // (a generation seen only through a 404 it gave is left out: it still served one path).
    const verdicts = client.verdicts().filter((v) => v !== 'unknown');
    expect(verdicts.filter((v) => v !== '/v1' && v !== '/v2')).toEqual([]);
    expect(verdicts.filter((v, i) => i === 0 || v !== verdicts[i - 1])).toEqual(['/v1', '/v2', '/v1']);
    expect(client.total).toBeGreaterThan(40);
    expect([...(await servedOn('/v1', 8))].sort()).toEqual(['v1r-a', 'v1r-b']);
    expect((await hostGet(bundle.port, '/v2')).status).toBe(404);
  }, 180_000);
});
