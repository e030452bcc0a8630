import { randomUUID } from 'node:crypto';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SQSClient } from '@aws-sdk/client-sqs';
import { instanceResourceName } from '@ecs-ingress/sources';
import { type AwsFake, type FauxqsHarness, startAwsFake, startFauxqsServer } from '@ecs-ingress/testkit/aws';
import { eventually } from '@ecs-ingress/testkit/net';
import { silentLogger } from '@ecs-ingress/types';
import { BehaviorSubject, filter, firstValueFrom } from 'rxjs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EventQueue, type QueueConsumer } from './event-queue.js';

let aws: AwsFake;
let fq: FauxqsHarness;
let sqs: SQSClient;
let eventBridge: EventBridgeClient;
/** The client as the event queue takes it (built at first use in the daemon). */
const events = async () => eventBridge;
const stops: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  [aws, fq] = await Promise.all([startAwsFake(), startFauxqsServer()]);
  sqs = new SQSClient({ ...fq.sqsConfig(), maxAttempts: 1 });
  eventBridge = new EventBridgeClient({ ...aws.clientConfig(), maxAttempts: 1 });
});
afterEach(async () => {
  aws.clearFaults();
  for (const stop of stops.splice(0)) await stop();
});
afterAll(async () => {
  sqs.destroy();
  eventBridge.destroy();
  await Promise.all([aws.close(), fq.close()]);
});

/** A consumer that only records what happened to it. */
function fakeConsumer(log: string[]): (url: string) => QueueConsumer {
  return (url) => {
    const healthy = new BehaviorSubject(false);
    return {
      healthy$: healthy,
      start() {
        log.push(`start ${url.slice(url.lastIndexOf('/') + 1)}`);
        healthy.next(true);
      },
      async stop() {
        log.push('stop');
      },
    };
  };
}

describe('EventQueue', () => {
  it('per-instance: retries a failed set-up in the background, then resyncs, heartbeats and tears down', async () => {
    const cluster = `q-${randomUUID().slice(0, 8)}`;
    const clusterArn = `arn:aws:ecs:us-east-1:123456789012:cluster/${cluster}`;
    const name = instanceResourceName('ecs-ingress-', cluster, 'host-1');
    const log: string[] = [];
    // EventBridge is down for the first two calls: the first attempt fails (no SDK retries here).
    aws.inject({ service: 'events', kind: 'server-error', times: 2 });
    const queue = new EventQueue({
      settings: {
        mode: 'per-instance',
        instanceId: 'host-1',
        prefix: 'ecs-ingress-',
        heartbeatIntervalMs: 50,
        reapAfterMs: 0,
      },
      sqs,
      events,
      clusterArn: async () => clusterArn,
      consume: fakeConsumer(log),
      onLateStart: () => log.push('late-start'),
      logger: silentLogger,
      retry: { initialMs: 10, maxMs: 20 },
    });
    stops.push(() => queue.stop());
    expect(await queue.start()).toBe(false);
    expect(await firstValueFrom(queue.healthy$!)).toBe(false);

    await firstValueFrom(queue.healthy$!.pipe(filter(Boolean)));
    await eventually('the late-start callback', () => (log.includes('late-start') ? true : undefined));
    expect(log).toEqual([`start ${name}`, 'late-start']);
    expect(queue.queueUrl).toMatch(new RegExp(`/${name}$`));
    expect(aws.events.rule(name)).toBeDefined();

    // The heartbeat tag moves forward.
    const ruleArn = aws.events.rule(name)!.arn;
    const first = aws.events.tagsOf(ruleArn)['ecs-ingress:heartbeat'];
    await eventually('a newer heartbeat', () => {
      const now = aws.events.tagsOf(ruleArn)['ecs-ingress:heartbeat'];
      return now !== undefined && now !== first ? now : undefined;
    });

    const removed = await queue.stop();
    expect(removed.map((a) => `${a.action} ${a.kind}`)).toEqual([
      'deleted target',
      'deleted rule',
      'deleted queue',
    ]);
    expect(log.at(-1)).toBe('stop');
    expect(aws.events.rule(name)).toBeUndefined();
    expect(fq.server.inspectQueue(name)).toBeUndefined();
  });

  it('none: no health stream, nothing to set up', async () => {
    const queue = new EventQueue({
      settings: {
        mode: 'none',
        instanceId: 'x',
        prefix: 'ecs-ingress-',
        heartbeatIntervalMs: 1000,
        reapAfterMs: 0,
      },
      sqs,
      events,
      clusterArn: async () => 'arn:aws:ecs:us-east-1:1:cluster/x',
      consume: () => {
        throw new Error('no consumer in none mode');
      },
      logger: silentLogger,
    });
    expect(queue.healthy$).toBeUndefined();
    expect(await queue.start()).toBe(true);
    expect(await queue.stop()).toEqual([]);
  });
});
