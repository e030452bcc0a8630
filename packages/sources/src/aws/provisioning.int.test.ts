import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import {
  CreateQueueCommand,
  type CreateQueueCommandInput,
  ListQueueTagsCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { type AwsFake, type FauxqsHarness, startAwsFake, startFauxqsServer } from '@ecs-ingress/testkit/aws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ensureInstanceQueue,
  eventPatternFor,
  formatAction,
  reapStale,
  TAG_CLUSTER,
  TAG_HEARTBEAT,
  TAG_INSTANCE,
  teardownInstanceQueue,
  useSharedQueue,
} from './provisioning.js';

const CLUSTER_ARN = 'arn:aws:ecs:us-east-1:123456789012:cluster/prod';
const OTHER_CLUSTER_ARN = 'arn:aws:ecs:us-east-1:123456789012:cluster/staging';
const T0 = Date.parse('2024-06-01T12:00:00.000Z');
const HOUR = 3_600_000;

let fq: FauxqsHarness;
let fake: AwsFake;
let sqs: SQSClient;
let eventBridge: EventBridgeClient;
/** The client as provisioning takes it (built at first use in the daemon). */
const events = async () => eventBridge;
let prefixSeq = 0;
const createQueueInputs: CreateQueueCommandInput[] = [];

beforeAll(async () => {
  [fq, fake] = await Promise.all([startFauxqsServer(), startAwsFake()]);
  sqs = new SQSClient({ ...fq.sqsConfig(), maxAttempts: 1 });
  sqs.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'CreateQueueCommand')
        createQueueInputs.push(args.input as CreateQueueCommandInput);
      return next(args);
    },
    { step: 'initialize', name: 'recordCreateQueue' },
  );
  eventBridge = new EventBridgeClient({ ...fake.clientConfig(), maxAttempts: 1 });
});
afterAll(async () => {
  sqs.destroy();
  eventBridge.destroy();
  await Promise.all([fq.close(), fake.close()]);
});

/** A fresh prefix per test, so tests sharing the fakes never see each other's resources. */
const newPrefix = () => `t${++prefixSeq}-`;
const rulesWith = (prefix: string) =>
  [...fake.events.rules.values()].filter((r) => r.name.startsWith(prefix));
async function queueTags(url: string): Promise<Record<string, string>> {
  return (await sqs.send(new ListQueueTagsCommand({ QueueUrl: url }))).Tags ?? {};
}

function ensure(prefix: string, instanceId: string, options: { clusterArn?: string; now?: number } = {}) {
  return ensureInstanceQueue({
    sqs,
    events,
    clusterArn: options.clusterArn ?? CLUSTER_ARN,
    instanceId,
    prefix,
    now: () => options.now ?? T0,
  });
}

describe('ensureInstanceQueue', () => {
  it('creates rule, queue and target once; a second call finds and refreshes them', async () => {
    const prefix = newPrefix();
    const first = await ensure(prefix, 'i-aaa');
    expect(first.actions.map((a) => `${a.action} ${a.kind}`)).toEqual([
      'created rule',
      'created queue',
      'created target',
    ]);
    const second = await ensure(prefix, 'i-aaa', { now: T0 + 1000 });
    expect(second.actions.map((a) => `${a.action} ${a.kind}`)).toEqual([
      'updated rule',
      'updated queue',
      'unchanged target',
    ]);
    expect(second.queueUrl).toBe(first.queueUrl);
    expect(second.ruleArn).toBe(first.ruleArn);

    const rules = rulesWith(prefix);
    expect(rules).toHaveLength(1);
    const rule = rules[0]!;
    expect(rule.name).toBe(`${prefix}prod-i-aaa`);
    expect(JSON.parse(rule.eventPattern!)).toEqual({
      source: ['aws.ecs'],
      'detail-type': ['ECS Task State Change', 'ECS Container Instance State Change'],
      detail: { clusterArn: [CLUSTER_ARN] },
    });
    expect(rule.eventPattern).toBe(eventPatternFor(CLUSTER_ARN));
    expect([...rule.targets.values()]).toEqual([{ Id: 'ecs-ingress-queue', Arn: first.queueArn }]);

    const queue = fq.server.inspectQueue(rule.name);
    expect(queue).toBeDefined();
    // fauxqs accepts SqsManagedSseEnabled at creation but does not keep it: check what was asked for.
    const createCalls = createQueueInputs.filter((c) => c.QueueName === rule.name);
    expect(createCalls).toHaveLength(1);
    expect(createCalls[0]?.Attributes).toMatchObject({ SqsManagedSseEnabled: 'true' });
    expect(queue!.attributes).toMatchObject({
      MessageRetentionPeriod: '86400',
      ReceiveMessageWaitTimeSeconds: '20',
    });
    const policy = JSON.parse(queue!.attributes.Policy!);
    expect(policy.Statement).toEqual([
      expect.objectContaining({
        Effect: 'Allow',
        Principal: { Service: 'events.amazonaws.com' },
        Action: 'sqs:SendMessage',
        Resource: first.queueArn,
        Condition: { ArnEquals: { 'aws:SourceArn': first.ruleArn } },
      }),
    ]);

    const expectedTags = {
      [TAG_CLUSTER]: CLUSTER_ARN,
      [TAG_INSTANCE]: 'i-aaa',
      [TAG_HEARTBEAT]: new Date(T0 + 1000).toISOString(),
    };
    expect(fake.events.tagsOf(first.ruleArn!)).toEqual(expectedTags);
    expect(await queueTags(first.queueUrl)).toEqual(expectedTags);
    expect(formatAction(first.actions[1]!)).toBe(`created queue ${rule.name} ${first.queueUrl}`);
  });

  it('heartbeat() refreshes the tag on queue and rule; teardown() removes all and can repeat', async () => {
    let now = T0;
    const prefix = newPrefix();
    const p = await ensureInstanceQueue({
      sqs,
      events,
      clusterArn: CLUSTER_ARN,
      instanceId: 'i-bbb',
      prefix,
      now: () => now,
    });
    now = T0 + 5 * 60_000;
    await p.heartbeat();
    const beat = new Date(now).toISOString();
    expect(fake.events.tagsOf(p.ruleArn!)[TAG_HEARTBEAT]).toBe(beat);
    expect((await queueTags(p.queueUrl))[TAG_HEARTBEAT]).toBe(beat);
    expect((await queueTags(p.queueUrl))[TAG_INSTANCE]).toBe('i-bbb');

    const removed = await p.teardown();
    expect(removed.map((a) => `${a.action} ${a.kind} ${a.name}`)).toEqual([
      'deleted target ecs-ingress-queue',
      `deleted rule ${p.name}`,
      `deleted queue ${p.name}`,
    ]);
    expect(rulesWith(prefix)).toEqual([]);
    expect(fq.server.inspectQueue(p.name!)).toBeUndefined();

    const again = await p.teardown();
    expect(again.map((a) => `${a.action} ${a.kind}`)).toEqual(['absent rule', 'absent queue']);
  });

  it('teardownInstanceQueue finds the resources by cluster and instance', async () => {
    const prefix = newPrefix();
    const arn = `arn:aws:ecs:us-east-1:123456789012:container-instance/prod/0123456789abcdef0123456789abcdef`;
    const p = await ensure(prefix, arn);
    expect(p.name).toBe(`${prefix}prod-0123456789abcdef0123456789abcdef`);
    const removed = await teardownInstanceQueue({
      sqs,
      events,
      clusterArn: CLUSTER_ARN,
      instanceId: arn,
      prefix,
    });
    expect(removed.map((a) => `${a.action} ${a.kind}`)).toEqual([
      'deleted target',
      'deleted rule',
      'deleted queue',
    ]);
    expect(rulesWith(prefix)).toEqual([]);
    expect(fq.server.inspectQueue(p.name!)).toBeUndefined();
  });

  it('refuses a cluster name where an ARN is needed (the rule would match nothing)', async () => {
    await expect(
      ensureInstanceQueue({ sqs, events, clusterArn: 'prod', instanceId: 'i-1', prefix: newPrefix() }),
    ).rejects.toMatchObject({ code: 'ECS_INGRESS_PROVISIONING_FAILED' });
  });

  it('useSharedQueue creates and removes nothing', async () => {
    const before = fake.callCounts();
    const shared = useSharedQueue('https://sqs.us-east-1.amazonaws.com/123456789012/mine');
    await shared.heartbeat();
    expect(await shared.teardown()).toEqual([]);
    expect(shared).toMatchObject({ mode: 'shared', actions: [] });
    expect(fake.callCounts()).toEqual(before);
  });
});

describe('reapStale', () => {
  it('deletes only stale resources of the same cluster, never its own', async () => {
    const prefix = newPrefix();
    const old = T0 - 2 * HOUR;
    const own = await ensure(prefix, 'i-own', { now: old });
    const stale = await ensure(prefix, 'i-dead', { now: old });
    const fresh = await ensure(prefix, 'i-alive', { now: T0 - 60_000 });
    const otherCluster = await ensure(prefix, 'i-dead', { clusterArn: OTHER_CLUSTER_ARN, now: old });
    // An orphan queue whose rule is already gone, and an untagged queue under the prefix.
    const orphan = await ensure(prefix, 'i-orphan', { now: old });
    fake.events.rules.get(orphan.name!)?.targets.clear();
    fake.events.rules.delete(orphan.name!);
    await sqs.send(new CreateQueueCommand({ QueueName: `${prefix}untagged` }));

    const reap = () =>
      reapStale({
        sqs,
        events,
        clusterArn: CLUSTER_ARN,
        prefix,
        maxAgeMs: HOUR,
        ownInstanceId: 'i-own',
        now: () => T0,
      });
    const actions = await reap();
    expect(actions.map(formatAction).sort()).toEqual(
      [
        `deleted target ecs-ingress-queue`,
        `deleted rule ${stale.name} ${stale.ruleArn}`,
        `deleted queue ${stale.name} ${stale.queueUrl}`,
        `deleted queue ${orphan.name} ${orphan.queueUrl}`,
      ].sort(),
    );
    expect(
      rulesWith(prefix)
        .map((r) => r.name)
        .sort(),
    ).toEqual([own.name, fresh.name, otherCluster.name].sort());
    for (const kept of [own, fresh, otherCluster]) expect(fq.server.inspectQueue(kept.name!)).toBeDefined();
    expect(fq.server.inspectQueue(`${prefix}untagged`)).toBeDefined();
    for (const gone of [stale, orphan]) expect(fq.server.inspectQueue(gone.name!)).toBeUndefined();

    // A second pass finds nothing more to do.
    expect(await reap()).toEqual([]);
  });

  it('pages through ListRules (more than 100 rules under the prefix)', async () => {
    const prefix = newPrefix();
    for (let i = 0; i < 105; i += 1) {
      fake.events.handle('PutRule', {
        Name: `${prefix}r${i}`,
        EventPattern: '{"source":["aws.ecs"]}',
        Tags: [
          { Key: TAG_CLUSTER, Value: CLUSTER_ARN },
          { Key: TAG_HEARTBEAT, Value: new Date(T0 - 2 * HOUR).toISOString() },
        ],
      });
    }
    fake.resetCalls();
    const actions = await reapStale({
      sqs,
      events,
      clusterArn: CLUSTER_ARN,
      prefix,
      maxAgeMs: HOUR,
      now: () => T0,
    });
    expect(actions.filter((a) => a.kind === 'rule' && a.action === 'deleted')).toHaveLength(105);
    expect(fake.calls('events', 'ListRules')).toBe(2);
    expect(rulesWith(prefix)).toEqual([]);
  });
});
