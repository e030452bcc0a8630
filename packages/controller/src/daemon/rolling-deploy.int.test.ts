/**
 * Deployments route without a gap (issue 13), end to end: `ecs-ingress run` in a child process,
 * real NGINX, fauxqs SQS, the wire-level ECS/EC2 fake, backends on 127.0.0.x. Events only: the
 * resync is an hour away, so whatever a new revision or a new container instance needs has to be
 * fetched on demand. A client requests every 50 ms throughout and counts what failed.
 */
import { randomUUID } from 'node:crypto';
import type { Task } from '@aws-sdk/client-ecs';
import {
  buildAwsvpcTask,
  buildBridgeTask,
  buildTaskDefinition,
  containerInstanceArnFor,
} from '@ecs-ingress/testkit/aws';
import { makeBundle, sendBody, servedBy, taskChangeBody, useDaemonWorld } from '@ecs-ingress/testkit/e2e';
import { type Backend, eventually, freePort, httpGet } from '@ecs-ingress/testkit/net';
import { hasNginx } from '@ecs-ingress/testkit/nginx';
import { describe, expect, it } from 'vitest';

const world = useDaemonWorld();

/** Requests `url` every 50 ms on fresh connections until stopped; counts answers by body or status. */
function startClient(url: string) {
  const answers = new Map<string, number>();
  let failed = 0;
  let total = 0;
  let running = true;
  const failures: string[] = [];
  const loop = (async () => {
    // Bounded: stops by itself after 10 minutes even if nobody stops it.
    for (let i = 0; running && i < 12_000; i++) {
      const started = Date.now();
      try {
        const r = await httpGet(url, 2000);
        total++;
        if (r.status === 200) answers.set(r.body, (answers.get(r.body) ?? 0) + 1);
        else {
          failed++;
          failures.push(`${r.status} ${r.body.slice(0, 80)}`);
        }
      } catch (err) {
        total++;
        failed++;
        failures.push(String(err));
      }
      await new Promise((r) => setTimeout(r, Math.max(0, 50 - (Date.now() - started))));
    }
  })();
  return {
    answers,
    get failed() {
      return failed;
    },
    get total() {
      return total;
    },
    failures,
    async stop() {
      running = false;
      await loop;
    },
  };
}

/** The ms from now until NGINX answers `url` with `name`, bounded (the resync is an hour away). */
async function msUntilServed(url: string, name: string): Promise<number> {
  const sent = Date.now();
  await eventually(
    `${name} to serve`,
    async () => ((await servedBy(url, 4)).includes(name) ? true : undefined),
    { rounds: 500, intervalMs: 10 },
  );
  return Date.now() - sent;
}

async function event(queueUrl: string, task: Task): Promise<void> {
  await sendBody(world.sqs, queueUrl, taskChangeBody(task));
}

describe.skipIf(!hasNginx)('deployments route without a gap (events only)', () => {
  it('rolls 4 tasks to a revision registered mid-run: 0 failed requests, each new task serving right after its event', async () => {
    const cluster = `deploy-${randomUUID().slice(0, 8)}`;
    world.aws.ecs.addCluster(cluster);
    world.aws.ecs.putService('web', { cluster });
    const port = await freePort();
    const bundle = await makeBundle(['web']);
    world.defer(() => bundle.cleanup());
    const revision = (n: number) =>
      world.aws.ecs.putTaskDefinition(
        buildTaskDefinition({
          family: 'web',
          revision: n,
          networkMode: 'awsvpc',
          containers: [{ name: 'app', containerPort: port }],
        }),
      ).taskDefinitionArn!;
    const rev1 = revision(1);
    const olds: { task: Task; backend: Backend }[] = [];
    for (let i = 1; i <= 4; i++) {
      const ip = `127.0.0.${10 + i}`;
      const b = await world.backend(`v1-${i}`, ip, port);
      olds.push({
        backend: b,
        task: world.aws.ecs.putTask(
          buildAwsvpcTask({ cluster, service: 'web', ip, taskDefinitionArn: rev1 }),
        ),
      });
    }
    const { daemon, queueUrl } = await world.startEventsDaemon(cluster, bundle);
    const url = `${bundle.url}/web`;
    expect(await servedBy(url, 12)).toEqual(['v1-1', 'v1-2', 'v1-3', 'v1-4']);

    const client = startClient(url);
    world.defer(() => client.stop());
    await new Promise((r) => setTimeout(r, 300));
    world.aws.resetCalls();
    // Revision 2 is registered now: the daemon has never seen it.
    const rev2 = revision(2);
    const latencies: number[] = [];
    for (let i = 1; i <= 4; i++) {
      // Start new: the task's RUNNING event is all the daemon hears of it.
      const ip = `127.0.0.${20 + i}`;
      await world.backend(`v2-${i}`, ip, port);
      const fresh = world.aws.ecs.putTask(
        buildAwsvpcTask({ cluster, service: 'web', ip, taskDefinitionArn: rev2 }),
      );
      await event(queueUrl, fresh);
      latencies.push(await msUntilServed(url, `v2-${i}`));
      // Drain old: desiredStatus STOPPED takes it out at once. ECS stops its container after the
      // deregistration delay; here: once the reload without it is confirmed (the daemon logs the
      // applied change), plus a moment for requests already on their way.
      const old = olds[i - 1]!;
      await event(queueUrl, world.aws.ecs.updateTask(old.task.taskArn!, { desiredStatus: 'STOPPED' }));
      await eventually(
        `v1-${i} to leave`,
        () => (daemon.output().includes(`web - ${old.backend.host}:${port}`) ? true : undefined),
        { rounds: 500, intervalMs: 10 },
      );
      await new Promise((r) => setTimeout(r, 200));
      await old.backend.close();
      await event(queueUrl, world.aws.ecs.updateTask(old.task.taskArn!, { lastStatus: 'STOPPED' }));
    }
    await new Promise((r) => setTimeout(r, 300));
    await client.stop();

    console.log(
      `rolling deploy: new tasks served ${latencies.join(', ')} ms after their RUNNING event was sent; ` +
        `${client.total} requests, ${client.failed} failed`,
    );
    expect(client.failures).toEqual([]);
    expect(client.total).toBeGreaterThan(40);
    expect(await servedBy(url, 12)).toEqual(['v2-1', 'v2-2', 'v2-3', 'v2-4']);
    // Exactly what the new revision needed: one DescribeTaskDefinition, nothing per task, no listing.
    const describes = world.aws.requests('ecs', 'DescribeTaskDefinition');
    expect(describes.map((c) => c.input.taskDefinition)).toEqual([rev2]);
    expect(world.aws.requests('ecs', 'ListTasks')).toEqual([]);
    expect(world.aws.requests('ecs', 'DescribeTasks')).toEqual([]);
  }, 120_000);

  it('routes a bridge task on a container instance added mid-run: 0 failed requests', async () => {
    const cluster = `scale-${randomUUID().slice(0, 8)}`;
    world.aws.ecs.addCluster(cluster);
    world.aws.ecs.putService('api', { cluster });
    const bundle = await makeBundle(['api']);
    world.defer(() => bundle.cleanup());
    const td = world.aws.ecs.putTaskDefinition(
      buildTaskDefinition({
        family: 'api',
        networkMode: 'bridge',
        containers: [{ name: 'app', containerPort: 80 }],
      }),
    ).taskDefinitionArn!;
    const first = containerInstanceArnFor(cluster, randomUUID().replaceAll('-', ''));
    world.aws.ecs.putContainerInstance(first, 'i-00000000000000a01', { cluster });
    world.aws.ec2.putInstance('i-00000000000000a01', '127.0.0.31');
    const a = await world.backend('api-a', '127.0.0.31');
    world.aws.ecs.putTask(
      buildBridgeTask({
        cluster,
        service: 'api',
        containerInstanceArn: first,
        hostPort: a.port,
        taskDefinitionArn: td,
      }),
    );
    const { queueUrl } = await world.startEventsDaemon(cluster, bundle);
    const url = `${bundle.url}/api`;
    expect(await servedBy(url, 6)).toEqual(['api-a']);

    const client = startClient(url);
    world.defer(() => client.stop());
    await new Promise((r) => setTimeout(r, 300));
    world.aws.resetCalls();
    // Auto Scaling adds an instance; ECS places a task on it. Only the task's event says so.
    const added = containerInstanceArnFor(cluster, randomUUID().replaceAll('-', ''));
    world.aws.ecs.putContainerInstance(added, 'i-00000000000000a02', { cluster });
    world.aws.ec2.putInstance('i-00000000000000a02', '127.0.0.32');
    const b = await world.backend('api-b', '127.0.0.32');
    const placed = world.aws.ecs.putTask(
      buildBridgeTask({
        cluster,
        service: 'api',
        containerInstanceArn: added,
        hostPort: b.port,
        taskDefinitionArn: td,
      }),
    );
    await event(queueUrl, placed);
    const latency = await msUntilServed(url, 'api-b');
    await new Promise((r) => setTimeout(r, 300));
    await client.stop();

    console.log(
      `scale-out: the task on the new instance served ${latency} ms after its RUNNING event was sent; ${client.total} requests, ${client.failed} failed`,
    );
    expect(client.failures).toEqual([]);
    expect(await servedBy(url, 12)).toEqual(['api-a', 'api-b']);
    expect(
      world.aws.requests('ecs', 'DescribeContainerInstances').map((c) => c.input.containerInstances),
    ).toEqual([[added]]);
    expect(world.aws.requests('ec2', 'DescribeInstances')).toHaveLength(1);
    expect(world.aws.requests('ecs', 'ListTasks')).toEqual([]);
  }, 120_000);
});
