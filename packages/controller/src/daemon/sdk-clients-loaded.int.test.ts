/**
 * The daemon loads an AWS SDK client package only when it needs it (issue 15: `@aws-sdk/client-ec2`
 * alone is ~64 MB of RSS). `ecs-ingress run` in a child process, seen from outside: a preloaded
 * module hook (testkit's moduleLogEnv) writes down each `@aws-sdk/client-*` package the process
 * resolves. On an awsvpc cluster with a bundle directory and a shared queue, only ECS and SQS are
 * loaded; a bridge task arriving later on an EC2 container instance loads EC2, and is routed.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import {
  buildAwsvpcTask,
  buildBridgeTask,
  buildTaskDefinition,
  containerInstanceArnFor,
} from '@ecs-ingress/testkit/aws';
import {
  loadedAwsClients,
  makeBundle,
  moduleLogEnv,
  sendBody,
  servedBy,
  taskChangeBody,
  untilDaemon,
  useDaemonWorld,
} from '@ecs-ingress/testkit/e2e';
import { hasNginx } from '@ecs-ingress/testkit/nginx';
import { describe, expect, it } from 'vitest';

const world = useDaemonWorld();

describe.skipIf(!hasNginx)('AWS SDK clients the daemon loads', () => {
  it('awsvpc tasks only: ECS and SQS; EC2 once a bridge task needs its instance address', async () => {
    const cluster = `lazy-${randomUUID().slice(0, 8)}`;
    world.aws.ecs.addCluster(cluster);
    world.aws.ecs.putService('web', { cluster });
    world.aws.ecs.putService('api', { cluster });
    const bundle = await makeBundle(['web', 'api']);
    world.defer(() => bundle.cleanup());
    const web = await world.backend('web-a', '127.0.0.41');
    const webTd = world.aws.ecs.putTaskDefinition(
      buildTaskDefinition({
        family: 'web',
        networkMode: 'awsvpc',
        containers: [{ name: 'app', containerPort: web.port }],
      }),
    ).taskDefinitionArn!;
    world.aws.ecs.putTask(
      buildAwsvpcTask({ cluster, service: 'web', ip: web.host, taskDefinitionArn: webTd }),
    );
    const moduleLog = join(bundle.root, 'modules.log');
    const { daemon, queueUrl } = await world.startEventsDaemon(cluster, bundle, moduleLogEnv(moduleLog));
    expect(await servedBy(`${bundle.url}/web`, 4)).toEqual(['web-a']);
    // Ready, serving, consuming the queue, the bundle watched: nothing needed EC2, EventBridge or S3.
    expect(await loadedAwsClients(moduleLog)).toEqual(['@aws-sdk/client-ecs', '@aws-sdk/client-sqs']);

    // A bridge task on an EC2 container instance: its address is the instance's private IP.
    const instance = containerInstanceArnFor(cluster, randomUUID().replaceAll('-', ''));
    world.aws.ecs.putContainerInstance(instance, 'i-00000000000000b01', { cluster });
    world.aws.ec2.putInstance('i-00000000000000b01', '127.0.0.42');
    const api = await world.backend('api-a', '127.0.0.42');
    const apiTd = world.aws.ecs.putTaskDefinition(
      buildTaskDefinition({
        family: 'api',
        networkMode: 'bridge',
        containers: [{ name: 'app', containerPort: 80 }],
      }),
    ).taskDefinitionArn!;
    const task = world.aws.ecs.putTask(
      buildBridgeTask({
        cluster,
        service: 'api',
        containerInstanceArn: instance,
        hostPort: api.port,
        taskDefinitionArn: apiTd,
      }),
    );
    await sendBody(world.sqs, queueUrl, taskChangeBody(task));
    await untilDaemon(
      'the bridge task to serve',
      daemon,
      async () => ((await servedBy(`${bundle.url}/api`, 2)).includes('api-a') ? true : undefined),
      { intervalMs: 50 },
    );
    expect(world.aws.calls('ec2', 'DescribeInstances')).toBe(1);
    expect(await loadedAwsClients(moduleLog)).toEqual([
      '@aws-sdk/client-ec2',
      '@aws-sdk/client-ecs',
      '@aws-sdk/client-sqs',
    ]);
  }, 60_000);
});
