/**
 * The shared reference resolver through the real SDK against the wire fake: single flight, batches,
 * the process-wide concurrency bound, and the negative cache with backoff.
 */
import type { ECSClient } from '@aws-sdk/client-ecs';
import { buildTaskDefinition, containerInstanceArnFor, taskDefinitionArnFor } from '@ecs-ingress/testkit/aws';
import { describe, expect, it } from 'vitest';
import { RecordingSink, recordObservations, useResolverFake } from '../test/helpers.js';
import { CallTally } from './aws-batches.js';

const ctx = useResolverFake();

const web = (revision: number) =>
  ctx.fake.ecs.putTaskDefinition(
    buildTaskDefinition({
      family: 'web',
      revision,
      networkMode: 'awsvpc',
      containers: [{ name: 'app', containerPort: 80 }],
    }),
  ).taskDefinitionArn!;

describe('EcsReferenceResolver', () => {
  it('fetches a revision once however many callers ask at the same time (single flight)', async () => {
    const arn = web(2);
    const sink = new RecordingSink();
    const r = ctx.resolver(sink);
    ctx.fake.inject({ service: 'ecs', operation: 'DescribeTaskDefinition', kind: 'delay', delayMs: 100 });
    const counts = await Promise.all([
      r.resolveTaskDefinitions([arn], new CallTally()),
      r.resolveTaskDefinitions([arn, arn], new CallTally()),
      r.resolveTaskDefinitions([arn], new CallTally()),
    ]);
    expect(counts.reduce((a, b) => a + b)).toBe(1);
    expect(ctx.fake.calls('ecs', 'DescribeTaskDefinition')).toBe(1);
    expect(sink.ofKind('task-definition')).toHaveLength(1);
    // Cached: never asked again.
    await r.resolveTaskDefinitions([arn], new CallTally());
    expect(ctx.fake.calls('ecs', 'DescribeTaskDefinition')).toBe(1);
  });

  it('keeps at most `concurrency` calls in flight across callers', async () => {
    const arns = [1, 2, 3, 4, 5, 6, 7].map(web);
    ctx.fake.inject({ service: 'ecs', operation: 'DescribeTaskDefinition', kind: 'delay', delayMs: 40 });
    let inFlight = 0;
    let peak = 0;
    const original = ctx.aws.ecs.send.bind(ctx.aws.ecs);
    const counting = Object.create(ctx.aws.ecs) as ECSClient;
    counting.send = (async (...args: Parameters<ECSClient['send']>) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      try {
        return await (original as (...a: unknown[]) => Promise<unknown>)(...args);
      } finally {
        inFlight--;
      }
    }) as ECSClient['send'];
    const bounded = ctx.resolver(new RecordingSink(), { concurrency: 2, ecs: counting });
    await Promise.all([
      bounded.resolveTaskDefinitions(arns.slice(0, 4), new CallTally()),
      bounded.resolveTaskDefinitions(arns.slice(3), new CallTally()),
    ]);
    expect(peak).toBe(2);
    expect(ctx.fake.calls('ecs', 'DescribeTaskDefinition')).toBe(7);
  });

  it('negative-caches a revision ECS refuses: not asked again until its backoff ends, then less often', async () => {
    const unknown = taskDefinitionArnFor('ghost', 9);
    const r = ctx.resolver();
    await r.resolveTaskDefinitions([unknown], new CallTally());
    await r.resolveTaskDefinitions([unknown], new CallTally());
    expect(ctx.fake.calls('ecs', 'DescribeTaskDefinition')).toBe(1);
    const first = r.nextRetryAt([unknown]);
    expect(first).toBe(ctx.clock + 60_000);
    ctx.clock = first! + 1;
    await r.resolveTaskDefinitions([unknown], new CallTally());
    expect(ctx.fake.calls('ecs', 'DescribeTaskDefinition')).toBe(2);
    expect(r.nextRetryAt([unknown])).toBe(ctx.clock + 120_000);
  });

  it('does not describe again on every poll a definition that does not parse', async () => {
    // The body names another revision than its ARN: not what it claims to be.
    const arn = taskDefinitionArnFor('odd', 1);
    ctx.fake.ecs.putTaskDefinition({
      ...buildTaskDefinition({ family: 'odd', revision: 2, networkMode: 'awsvpc' }),
      taskDefinitionArn: arn,
    });
    const sink = new RecordingSink();
    const r = ctx.resolver(sink);
    for (let poll = 0; poll < 5; poll++) {
      await r.resolveTaskDefinitions([arn], new CallTally());
      ctx.clock += 10_000;
    }
    expect(ctx.fake.calls('ecs', 'DescribeTaskDefinition')).toBe(1);
    expect(sink.events).toHaveLength(0);
  });

  it('backs off after throttling and fails the call, so the caller retries later', async () => {
    const arn = web(3);
    const r = ctx.resolver();
    ctx.fake.inject({ service: 'ecs', operation: 'DescribeTaskDefinition', kind: 'throttle', times: 1 });
    await expect(r.resolveTaskDefinitions([arn], new CallTally())).rejects.toMatchObject({
      code: 'ECS_INGRESS_AWS_THROTTLED',
    });
    expect(r.nextRetryAt([arn])).toBe(ctx.clock + 1_000);
    expect(await r.resolveTaskDefinitions([arn], new CallTally())).toBe(0);
    ctx.clock += 1_001;
    expect(await r.resolveTaskDefinitions([arn], new CallTally())).toBe(1);
  });

  it('an EC2 client that cannot be loaded fails the lookup as an EC2 outage; a later one loads it', async () => {
    const arn = containerInstanceArnFor('prod', 'ci-1');
    ctx.fake.ecs.putContainerInstance(arn, 'i-0000000000000001', { cluster: 'prod' });
    ctx.fake.ec2.putInstance('i-0000000000000001', '127.0.0.9');
    let loads = 0;
    const r = ctx.resolver(new RecordingSink(), {
      ec2: async () => {
        loads++;
        if (loads === 1) throw new Error("Cannot find package '@aws-sdk/client-ec2'");
        return ctx.aws.ec2();
      },
    });
    await expect(r.resolveContainerInstances([arn], new CallTally())).rejects.toMatchObject({
      code: 'ECS_INGRESS_AWS_UNAVAILABLE',
      service: 'ec2',
      operation: 'DescribeInstances',
    });
    expect(ctx.fake.calls('ec2', 'DescribeInstances')).toBe(0);
    ctx.clock += 1_001;
    expect(await r.resolveContainerInstances([arn], new CallTally())).toBe(1);
    expect(loads).toBe(2);
  });

  it('resolves 150 container instances in 2 DescribeContainerInstances and 2 DescribeInstances; unknown ones wait', async () => {
    const arns: string[] = [];
    for (let i = 0; i < 150; i++) {
      const arn = containerInstanceArnFor('prod', `ci-${i}`);
      const id = `i-${i.toString(16).padStart(17, '0')}`;
      ctx.fake.ecs.putContainerInstance(arn, id, { cluster: 'prod' });
      ctx.fake.ec2.putInstance(id, `127.0.${Math.floor(i / 250)}.${(i % 250) + 1}`);
      arns.push(arn);
    }
    const gone = containerInstanceArnFor('prod', 'deregistered');
    const sink = new RecordingSink();
    const { hook, seen } = recordObservations();
    const r = ctx.resolver(sink, { observe: hook });
    const tally = new CallTally();
    expect(await r.resolveContainerInstances([...arns, gone], tally)).toBe(150);
    expect(tally.toRecord()).toEqual({ 'ec2:DescribeInstances': 2, 'ecs:DescribeContainerInstances': 2 });
    expect(sink.ofKind('container-instance')).toHaveLength(150);
    expect(seen.filter((o) => o.kind === 'Container Instance')).toHaveLength(150);
    expect(r.nextRetryAt([gone])).toBe(ctx.clock + 60_000);
    await r.resolveContainerInstances([...arns, gone], new CallTally());
    expect(ctx.fake.calls('ecs', 'DescribeContainerInstances')).toBe(2);
  });
});
