/**
 * Two `ecs-ingress run` daemons (child processes, real NGINX each) sharing one cluster listing
 * through ECS_INGRESS_SHARED_S3_URI on the S3 fake that answers conditional writes as S3 does:
 * one lister, both serving the cluster, /debug/fleet and the fleet metrics. No queue (polling
 * mode), so the listing is all they learn from.
 */
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import {
  type AwsFake,
  buildAwsvpcTask,
  buildTaskDefinition,
  type S3Fake,
  startAwsFake,
  startS3Fake,
} from '@ecs-ingress/testkit/aws';
import {
  type DaemonProcess,
  daemonBaseEnv,
  makeBundle,
  servedBy,
  spawnDaemon,
} from '@ecs-ingress/testkit/e2e';
import { type Backend, eventually, get, startBackend } from '@ecs-ingress/testkit/net';
import { hasNginx } from '@ecs-ingress/testkit/nginx';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

let aws: AwsFake;
let s3: S3Fake;
const cleanups: (() => unknown)[] = [];

beforeAll(async () => {
  [aws, s3] = await Promise.all([startAwsFake(), startS3Fake()]);
  const admin = new S3Client({ ...s3.clientConfig(), maxAttempts: 1 });
  await admin.send(new CreateBucketCommand({ Bucket: 'fleet-shared' }));
  admin.destroy();
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await Promise.resolve(c()).catch(() => {});
});
afterAll(async () => {
  await Promise.all([aws?.close(), s3?.close()]);
});

interface FleetView {
  role: string;
  holder?: string;
  snapshot?: { startedAt: number; writtenBy: string };
}

async function fleetOf(d: DaemonProcess): Promise<FleetView> {
  return JSON.parse((await get(`${d.debugUrl}/debug/fleet`)).body) as FleetView;
}

describe.skipIf(!hasNginx)('two daemons sharing one listing through ECS_INGRESS_SHARED_S3_URI', () => {
  it('elects one lister, both route from its listing, the follower keeps serving when the lister dies', async () => {
    const cluster = 'fleet-e2e';
    aws.ecs.addCluster(cluster);
    const backends: Backend[] = [];
    // awsvpc: one port (the task definition's), one address per task.
    const first = await startBackend('127.0.0.11', '127.0.0.11');
    cleanups.push(() => first.close());
    const td = aws.ecs.putTaskDefinition(
      buildTaskDefinition({
        family: 'web',
        networkMode: 'awsvpc',
        containers: [{ name: 'app', containerPort: first.port }],
      }),
    );
    aws.ecs.putService('web', { cluster });
    for (const host of ['127.0.0.11', '127.0.0.12']) {
      const b = host === '127.0.0.11' ? first : await startBackend(host, host, first.port);
      if (b !== first) cleanups.push(() => b.close());
      backends.push(b);
      aws.ecs.putTask(
        buildAwsvpcTask({
          cluster,
          service: 'web',
          ip: host,
          taskDefinitionArn: td.taskDefinitionArn as string,
        }),
      );
    }
    const daemons: DaemonProcess[] = [];
    for (const id of ['i-0fleet0000000001', 'i-0fleet0000000002']) {
      const bundle = await makeBundle(['web']);
      const d = await spawnDaemon({
        ...daemonBaseEnv(aws.url, cluster, bundle),
        AWS_ENDPOINT_URL_S3: s3.url,
        ECS_INGRESS_QUEUE_MODE: 'none',
        ECS_INGRESS_INSTANCE_ID: id,
        ECS_INGRESS_POLL_INTERVAL: '1s',
        ECS_INGRESS_SHARED_S3_URI: 's3://fleet-shared/prod/',
        ECS_INGRESS_DEBOUNCE_MIN: '50ms',
        ECS_INGRESS_DEBOUNCE_MAX: '300ms',
      });
      cleanups.push(() => d.kill(5000));
      daemons.push(d);
      await eventually(
        `${id} ready`,
        async () => {
          if (d.child.exitCode !== null) throw new Error(`daemon exited:\n${d.output()}`);
          return (await get(`${d.adminUrl}/readyz`)).status === 200 ? true : undefined;
        },
        { rounds: 300, intervalMs: 100 },
      );
      const names = await servedBy(`${bundle.url}/web`, 6);
      expect([...new Set(names)].sort()).toEqual(backends.map((b) => b.name).sort());
    }

    const views = await Promise.all(daemons.map(fleetOf));
    expect(views.map((v) => v.role).sort()).toEqual(['follower', 'lister']);
    const listerIndex = views.findIndex((v) => v.role === 'lister');
    const lister = daemons[listerIndex] as DaemonProcess;
    const follower = daemons[1 - listerIndex] as DaemonProcess;
    const listerId = listerIndex === 0 ? 'i-0fleet0000000001' : 'i-0fleet0000000002';
    expect(views[1 - listerIndex]?.holder).toBe(listerId);
    const metrics = (await get(`${follower.adminUrl}/metrics`)).body;
    expect(metrics).toContain(`ecs_ingress_lister{instance="${listerId}"} 1`);
    expect(metrics).toContain('ecs_ingress_fleet_role{role="follower"} 1');
    expect(metrics).toMatch(/ecs_ingress_fleet_snapshots_total\{direction="merged"\} [1-9]/);
    expect(s3.keys('fleet-shared', 'prod/')).toEqual(
      expect.arrayContaining(['prod/cluster-listing.json.gz', 'prod/lister-lease.json']),
    );

    // The lister dies: the follower keeps serving (taking the lease over after the 60 s default
    // lease time is shown in the fleet simulation, with short intervals).
    await lister.kill(5000);
    expect((await get(`${follower.adminUrl}/readyz`)).status).toBe(200);
  }, 120_000);
});
