import {
  DescribeClustersCommand,
  DescribeContainerInstancesCommand,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  ECSClient,
  ECSServiceException,
  ListContainerInstancesCommand,
  ListServicesCommand,
  ListTasksCommand,
  paginateListTasks,
} from '@aws-sdk/client-ecs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type AwsFake, startAwsFake } from './server.js';
import {
  buildAwsvpcTask,
  buildBridgeTask,
  buildHostTask,
  buildTaskDefinition,
  containerInstanceArnFor,
  ecsId,
} from './task-builders.js';

let fake: AwsFake;
let ecs: ECSClient;

beforeAll(async () => {
  fake = await startAwsFake();
  ecs = new ECSClient({ ...fake.clientConfig(), maxAttempts: 1 });
});
afterAll(async () => {
  ecs.destroy();
  await fake.close();
});
afterEach(() => {
  fake.ecs.clusters.clear();
  fake.ecs.taskDefinitions.clear();
  fake.resetCalls();
  fake.clearFaults();
});

async function ecsError(p: Promise<unknown>): Promise<ECSServiceException> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ECSServiceException);
  return err as ECSServiceException;
}

describe('ECS fake through the real ECSClient', () => {
  it('DescribeTasks returns awsvpc, bridge and host tasks with dates and failures for unknown ARNs', async () => {
    const created = new Date('2024-05-01T12:00:00.500Z');
    const ci = containerInstanceArnFor('default', 'ci-1');
    const a = fake.ecs.putTask(
      buildAwsvpcTask({ ip: '10.0.1.5', createdAt: created, healthStatus: 'HEALTHY' }),
    );
    const b = fake.ecs.putTask(
      buildBridgeTask({ containerInstanceArn: ci, hostPort: 32768, containerPort: 8080 }),
    );
    const h = fake.ecs.putTask(buildHostTask({ containerInstanceArn: ci, port: 9000, service: 'api' }));
    const missing = 'arn:aws:ecs:us-east-1:123456789012:task/default/0000';
    const out = await ecs.send(
      new DescribeTasksCommand({ cluster: 'default', tasks: [a.taskArn!, b.taskArn!, h.taskArn!, missing] }),
    );
    expect(out.tasks?.map((t) => t.taskArn)).toEqual([a.taskArn, b.taskArn, h.taskArn]);
    expect(out.failures).toEqual([{ arn: missing, reason: 'MISSING' }]);
    const [ta, tb, th] = out.tasks!;
    expect(ta?.createdAt).toEqual(created);
    expect(ta?.healthStatus).toBe('HEALTHY');
    const eni = ta?.attachments?.find((x) => x.type === 'ElasticNetworkInterface');
    expect(eni?.details?.find((d) => d.name === 'privateIPv4Address')?.value).toBe('10.0.1.5');
    expect(tb?.containers?.[0]?.networkBindings?.[0]).toMatchObject({ hostPort: 32768, containerPort: 8080 });
    expect(tb?.containerInstanceArn).toBe(ci);
    expect(th?.group).toBe('service:api');
    expect(th?.containers?.[0]?.networkBindings?.[0]?.hostPort).toBe(9000);
  });

  it('DescribeTasks accepts bare task ids', async () => {
    const t = fake.ecs.putTask(buildAwsvpcTask({ ip: '10.0.0.1', id: 'abc123' }));
    const out = await ecs.send(new DescribeTasksCommand({ tasks: [ecsId('abc123')] }));
    expect(out.tasks?.[0]?.taskArn).toBe(t.taskArn);
  });

  it('updateTask bumps version and DescribeTasks sees the change', async () => {
    const t = fake.ecs.putTask(buildAwsvpcTask({ ip: '10.0.0.2', lastStatus: 'PENDING', version: 3 }));
    fake.ecs.updateTask(t.taskArn!, { lastStatus: 'RUNNING' });
    const out = await ecs.send(new DescribeTasksCommand({ tasks: [t.taskArn!] }));
    expect(out.tasks?.[0]).toMatchObject({ lastStatus: 'RUNNING', version: 4 });
    expect(fake.ecs.removeTask(t.taskArn!)).toBe(true);
    const after = await ecs.send(new DescribeTasksCommand({ tasks: [t.taskArn!] }));
    expect(after.tasks).toEqual([]);
    expect(after.failures?.[0]?.reason).toBe('MISSING');
  });

  it.each([
    [
      'DescribeTasks over 100',
      () => new DescribeTasksCommand({ tasks: arns(101) }),
      'taskIds can have at most 100',
    ],
    [
      'DescribeContainerInstances over 100',
      () => new DescribeContainerInstancesCommand({ containerInstances: arns(101) }),
      'instanceIds can have at most 100',
    ],
    [
      'DescribeServices over 10',
      () => new DescribeServicesCommand({ services: arns(11) }),
      'service names can have at most 10',
    ],
    ['ListTasks maxResults 101', () => new ListTasksCommand({ maxResults: 101 }), 'maxResults'],
  ])('%s is an InvalidParameterException', async (_name, command, message) => {
    fake.ecs.addCluster('default');
    // biome-ignore lint/suspicious/noExplicitAny: one table over several command types
    const err = await ecsError(ecs.send(command() as any));
    expect(err.name).toBe('InvalidParameterException');
    expect(err.$metadata.httpStatusCode).toBe(400);
    expect(err.message).toContain(message);
  });

  it('an unknown cluster is a ClusterNotFoundException', async () => {
    const err = await ecsError(ecs.send(new ListTasksCommand({ cluster: 'nope' })));
    expect(err.name).toBe('ClusterNotFoundException');
  });

  it('ListTasks pages 100 at a time across 250 tasks and filters by desiredStatus (default RUNNING)', async () => {
    const running = new Set<string>();
    for (let i = 0; i < 250; i++) {
      running.add(fake.ecs.putTask(buildAwsvpcTask({ ip: `10.1.${i >> 8}.${i & 255}` })).taskArn!);
    }
    const stopped = fake.ecs.putTask(buildAwsvpcTask({ ip: '10.2.0.1', desiredStatus: 'STOPPED' }));
    const seen: string[] = [];
    let pages = 0;
    for await (const page of paginateListTasks({ client: ecs, pageSize: 100 }, { cluster: 'default' })) {
      pages++;
      expect(page.taskArns!.length).toBeLessThanOrEqual(100);
      seen.push(...page.taskArns!);
    }
    expect(pages).toBe(3);
    expect(new Set(seen)).toEqual(running);
    expect(fake.calls('ecs', 'ListTasks')).toBe(3);
    const stoppedList = await ecs.send(new ListTasksCommand({ desiredStatus: 'STOPPED' }));
    expect(stoppedList.taskArns).toEqual([stopped.taskArn]);
  });

  it.each([
    [{ serviceName: 'api' }, [ecsId('api-task')]],
    [{ family: 'other' }, [ecsId('other-task')]],
    [{ launchType: 'EC2' as const }, [ecsId('api-task')]],
    [{ containerInstance: ecsId('ci-9') }, [ecsId('api-task')]],
  ])('ListTasks filter %j', async (filter, expected) => {
    const ci = containerInstanceArnFor('default', 'ci-9');
    fake.ecs.putTask(
      buildBridgeTask({ id: 'api-task', service: 'api', containerInstanceArn: ci, hostPort: 1 }),
    );
    fake.ecs.putTask(
      buildAwsvpcTask({
        id: 'other-task',
        ip: '10.0.0.3',
        taskDefinitionArn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/other:2',
      }),
    );
    const out = await ecs.send(new ListTasksCommand(filter));
    expect(out.taskArns?.map((a) => a.split('/').pop())).toEqual(expected);
  });

  it('DescribeTaskDefinition resolves ARN, family:revision and family (latest ACTIVE)', async () => {
    const v1 = fake.ecs.putTaskDefinition(
      buildTaskDefinition({ family: 'web', revision: 1, networkMode: 'awsvpc' }),
    );
    fake.ecs.putTaskDefinition(
      buildTaskDefinition({
        family: 'web',
        revision: 2,
        networkMode: 'bridge',
        containers: [
          {
            name: 'app',
            containerPort: 8080,
            healthCheck: true,
            dockerLabels: { 'ecs-ingress.port': '8080' },
          },
        ],
      }),
    );
    const byArn = await ecs.send(
      new DescribeTaskDefinitionCommand({ taskDefinition: v1.taskDefinitionArn! }),
    );
    expect(byArn.taskDefinition?.networkMode).toBe('awsvpc');
    expect(byArn.taskDefinition?.registeredAt).toBeInstanceOf(Date);
    const byRev = await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: 'web:1' }));
    expect(byRev.taskDefinition?.revision).toBe(1);
    const latest = await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: 'web' }));
    expect(latest.taskDefinition?.revision).toBe(2);
    const c = latest.taskDefinition?.containerDefinitions?.[0];
    expect(c?.healthCheck?.command?.[0]).toBe('CMD-SHELL');
    expect(c?.portMappings?.[0]).toMatchObject({ containerPort: 8080, hostPort: 0 });
    expect(c?.dockerLabels).toEqual({ 'ecs-ingress.port': '8080' });
    const err = await ecsError(ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: 'nope:1' })));
    expect(err.name).toBe('ClientException');
  });

  it('container instances: list, describe (by ARN or id), failures', async () => {
    const ci1 = fake.ecs.putContainerInstance('ci-1', 'i-0aaa');
    fake.ecs.putContainerInstance(containerInstanceArnFor('default', 'ci-2'), 'i-0bbb');
    const list = await ecs.send(new ListContainerInstancesCommand({ cluster: 'default' }));
    expect(list.containerInstanceArns).toHaveLength(2);
    const out = await ecs.send(
      new DescribeContainerInstancesCommand({
        cluster: 'default',
        containerInstances: [ci1.containerInstanceArn!, ecsId('ci-2'), 'ci-3'],
      }),
    );
    expect(out.containerInstances?.map((c) => c.ec2InstanceId)).toEqual(['i-0aaa', 'i-0bbb']);
    expect(out.failures?.map((f) => f.reason)).toEqual(['MISSING']);
  });

  it('services: ListServices pages 10 by default, DescribeServices ≤ 10 with failures', async () => {
    for (let i = 0; i < 25; i++) fake.ecs.putService(`svc-${i}`, { desiredCount: 2 });
    const first = await ecs.send(new ListServicesCommand({}));
    expect(first.serviceArns).toHaveLength(10);
    expect(first.nextToken).toBeDefined();
    const rest = await ecs.send(new ListServicesCommand({ maxResults: 100, nextToken: first.nextToken! }));
    expect(rest.serviceArns).toHaveLength(15);
    expect(rest.nextToken).toBeUndefined();
    const d = await ecs.send(
      new DescribeServicesCommand({ services: ['svc-0', first.serviceArns![1]!, 'ghost'] }),
    );
    expect(d.services?.map((s) => s.serviceName)).toEqual(['svc-0', 'svc-1']);
    expect(d.services?.[0]?.createdAt).toBeInstanceOf(Date);
    expect(d.failures).toEqual([
      { arn: 'arn:aws:ecs:us-east-1:123456789012:service/default/ghost', reason: 'MISSING' },
    ]);
  });

  it('DescribeClusters resolves a name to its ARN, with counts', async () => {
    fake.ecs.putTask(buildAwsvpcTask({ cluster: 'prod', ip: '10.0.0.9' }));
    const out = await ecs.send(new DescribeClustersCommand({ clusters: ['prod', 'ghost'] }));
    expect(out.clusters?.[0]).toMatchObject({
      clusterArn: 'arn:aws:ecs:us-east-1:123456789012:cluster/prod',
      clusterName: 'prod',
      status: 'ACTIVE',
      runningTasksCount: 1,
    });
    expect(out.failures?.[0]?.reason).toBe('MISSING');
  });
});

function arns(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `arn:aws:ecs:us-east-1:123456789012:task/default/${i}`);
}
