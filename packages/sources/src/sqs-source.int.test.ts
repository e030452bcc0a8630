import { randomUUID } from 'node:crypto';
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';
import { CreateQueueCommand, SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { type FauxqsHarness, startFauxqsServer } from '@ecs-ingress/testkit/aws';
import type { ClusterEvent } from '@ecs-ingress/types';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { RecordedMetrics } from '../test/helpers.js';
import type { DispatchOutcome, EventSink } from './event-sink.js';
import { SqsSource, type SqsSourceOptions } from './sqs-source.js';

const CLUSTER_ARN = 'arn:aws:ecs:us-east-1:123456789012:cluster/prod';
const OTHER_CLUSTER_ARN = 'arn:aws:ecs:us-east-1:123456789012:cluster/staging';

let fq: FauxqsHarness;
const sources: SqsSource[] = [];
const clients: SQSClient[] = [];

beforeAll(async () => {
  fq = await startFauxqsServer();
});
afterEach(async () => {
  await Promise.all(sources.splice(0).map((s) => s.stop()));
  for (const c of clients.splice(0)) c.destroy();
});
afterAll(async () => {
  await fq.close();
});

/** The recorded input of a command; only DeleteMessageBatch's entries are read. */
interface RecordedCall {
  name: string;
  input: { Entries?: { Id?: string; ReceiptHandle?: string }[] };
  /** Set when the call returned (ReceiveMessage: the messages with their receipt handles). */
  output?: { Messages?: { ReceiptHandle?: string }[] };
}

/** A real SQS client that records every command it sends (name and input). */
function newClient(endpoint = fq.endpoint): { sqs: SQSClient; calls: RecordedCall[] } {
  const sqs = new SQSClient({ ...fq.sqsConfig(), endpoint, maxAttempts: 1 });
  const calls: RecordedCall[] = [];
  sqs.middlewareStack.add(
    (next, context) => async (args) => {
      const call: RecordedCall = {
        name: String(context.commandName),
        input: args.input as RecordedCall['input'],
      };
      calls.push(call);
      const result = await next(args);
      call.output = result.output as NonNullable<RecordedCall['output']>;
      return result;
    },
    { step: 'initialize', name: 'recordCalls' },
  );
  clients.push(sqs);
  return { sqs, calls };
}

async function newQueue(attributes: Record<string, string> = {}): Promise<{ url: string; name: string }> {
  const name = `q-${randomUUID().slice(0, 8)}`;
  const { sqs } = newClient();
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
  return { url: QueueUrl!, name };
}

/** Messages still in the queue (visible, in flight or delayed). */
function depth(name: string): number {
  const q = fq.server.inspectQueue(name);
  if (!q) throw new Error(`queue ${name} is gone`);
  return q.messages.ready.length + q.messages.inflight.length + q.messages.delayed.length;
}

class RecordingSink implements EventSink {
  readonly events: ClusterEvent[] = [];
  failuresLeft = 0;
  dispatch(event: ClusterEvent): DispatchOutcome {
    if (this.failuresLeft > 0) {
      this.failuresLeft -= 1;
      throw new Error('store unavailable');
    }
    this.events.push(event);
    return event.kind === 'ignored' ? 'ignored' : 'applied';
  }
  taskArns(): string[] {
    return this.events.flatMap((e) => (e.kind === 'task' ? [e.task.taskArn] : []));
  }
}

/** A sink that takes batches, as the store does; it can refuse every batch to force the fallback. */
class BatchSink extends RecordingSink {
  readonly batches: number[] = [];
  single = 0;
  refuseBatches = false;
  override dispatch(event: ClusterEvent): DispatchOutcome {
    this.single += 1;
    return super.dispatch(event);
  }
  dispatchBatch(events: readonly ClusterEvent[]): { outcomes: DispatchOutcome[] } {
    if (this.refuseBatches) throw new Error('batch refused');
    this.batches.push(events.length);
    return { outcomes: events.map((e) => super.dispatch(e)) };
  }
}

/** A task event whose task id holds `;`, `{`, `}`, `$` and a newline. */
function hostileTaskEvent(): string {
  const event = taskEvent(8);
  const detail = event.detail as Record<string, unknown>;
  detail.taskArn = `${CLUSTER_ARN.replace(':cluster/', ':task/')}/0123456789abcdef;{}$\n"0123456789`;
  return JSON.stringify(event);
}

function taskEvent(n: number, clusterArn = CLUSTER_ARN): Record<string, unknown> {
  const taskArn = `${clusterArn.replace(':cluster/', ':task/')}/${String(n).padStart(32, '0')}`;
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'ECS Task State Change',
    source: 'aws.ecs',
    account: '123456789012',
    time: '2024-05-01T10:00:00Z',
    region: 'us-east-1',
    resources: [taskArn],
    detail: {
      taskArn,
      clusterArn,
      taskDefinitionArn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/web:3',
      group: 'service:web',
      lastStatus: 'RUNNING',
      desiredStatus: 'RUNNING',
      version: 2,
      launchType: 'FARGATE',
      attachments: [{ type: 'eni', details: [{ name: 'privateIPv4Address', value: `10.0.0.${n % 250}` }] }],
      containers: [{ name: 'web', lastStatus: 'RUNNING' }],
    },
  };
}

function snsWrapped(event: Record<string, unknown>): Record<string, unknown> {
  return {
    Type: 'Notification',
    MessageId: randomUUID(),
    TopicArn: 'arn:aws:sns:us-east-1:123456789012:ecs-events',
    Message: JSON.stringify(event),
  };
}

async function send(url: string, bodies: string[]): Promise<void> {
  const { sqs } = newClient();
  for (let i = 0; i < bodies.length; i += 10) {
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: url,
        Entries: bodies.slice(i, i + 10).map((MessageBody, j) => ({ Id: `e${i + j}`, MessageBody })),
      }),
    );
  }
}

function startSource(options: Partial<SqsSourceOptions> & Pick<SqsSourceOptions, 'queueUrl' | 'sink'>) {
  const source = new SqsSource({
    sqs: options.sqs ?? newClient().sqs,
    cluster: CLUSTER_ARN,
    waitTimeSeconds: 1,
    backoff: { baseMs: 5, capMs: 20 },
    ...options,
  });
  sources.push(source);
  source.start();
  return source;
}

const waitOpts = { timeout: 15_000, interval: 20 };

describe('SqsSource against fauxqs', () => {
  it('dispatches EventBridge and SNS-wrapped events, then deletes them, passing SentTimestamp along', async () => {
    const q = await newQueue();
    await send(q.url, [JSON.stringify(taskEvent(1)), JSON.stringify(snsWrapped(taskEvent(2)))]);
    const sink = new RecordingSink();
    const metrics = new RecordedMetrics();
    const dispatched: { sent: number | undefined; received: number }[] = [];
    const source = startSource({
      queueUrl: q.url,
      sink,
      metrics,
      hooks: { onDispatched: (_e, _o, sent, received) => dispatched.push({ sent, received }) },
    });

    // The queue empties when the messages are received (in flight) and deleted; wait for both.
    await vi.waitFor(() => {
      expect(depth(q.name)).toBe(0);
      expect(source.stats().messagesDeleted).toBe(2);
    }, waitOpts);
    expect(sink.taskArns().sort()).toEqual([
      `${CLUSTER_ARN.replace(':cluster/', ':task/')}/${'1'.padStart(32, '0')}`,
      `${CLUSTER_ARN.replace(':cluster/', ':task/')}/${'2'.padStart(32, '0')}`,
    ]);
    expect(dispatched).toHaveLength(2);
    for (const d of dispatched) {
      expect(d.sent).toBeGreaterThan(0);
      expect(d.received).toBeGreaterThanOrEqual(d.sent!);
    }
    expect(source.stats()).toMatchObject({ messagesReceived: 2, messagesDeleted: 2, eventsDispatched: 2 });
    expect(metrics.sqsReceived).toBe(2);
    expect(metrics.sqsDeleted).toBe(2);
    expect([...metrics.events]).toEqual([['sqs ECS Task State Change', 2]]);
    expect(metrics.sqsHealthy).toBe(true);
    expect(source.isHealthy()).toBe(true);
  });

  it.each([
    ['delete', 'not json at all', 'not-json', 0],
    ['delete', '{"hello":"world"}', 'missing-field:source', 0],
    ['leave', 'not json at all', 'not-json', 1],
    ['leave', '{"hello":"world"}', 'missing-field:source', 1],
    // Well-formed, but the task id holds what no ECS task id holds: refused before the store.
    ['delete', hostileTaskEvent(), 'invalid-arn:detail.taskArn', 0],
  ] as const)(
    'malformed=%s, body %j → counted as %s, %i left in the queue',
    async (mode, body, reason, left) => {
      const q = await newQueue({ VisibilityTimeout: '60' });
      await send(q.url, [body, JSON.stringify(taskEvent(7))]);
      const sink = new RecordingSink();
      const invalid: { reason: string; id: string | undefined }[] = [];
      const metrics = new RecordedMetrics();
      const source = startSource({
        queueUrl: q.url,
        sink,
        metrics,
        malformed: mode,
        hooks: { onInvalid: (r, id) => invalid.push({ reason: r, id }) },
      });

      await vi.waitFor(() => {
        expect(source.stats().messagesDeleted).toBe(2 - left);
        expect(depth(q.name)).toBe(left);
      }, waitOpts);
      expect(sink.taskArns()).toHaveLength(1);
      expect(invalid).toEqual([{ reason, id: expect.any(String) }]);
      expect(source.stats().invalidMessages).toBe(1);
      expect(metrics.invalid).toBe(1);
    },
  );

  it.each([
    ['an ARN', CLUSTER_ARN],
    ['a name', 'prod'],
  ])('configured cluster as %s: another cluster’s event is skipped yet deleted', async (_label, cluster) => {
    const q = await newQueue();
    await send(q.url, [JSON.stringify(taskEvent(1, OTHER_CLUSTER_ARN)), JSON.stringify(taskEvent(2))]);
    const sink = new RecordingSink();
    const others: string[] = [];
    const source = startSource({
      queueUrl: q.url,
      sink,
      cluster,
      hooks: { onOtherCluster: (arn) => others.push(arn) },
    });
    await vi.waitFor(() => {
      expect(depth(q.name)).toBe(0);
      expect(source.stats().messagesDeleted).toBe(2);
    }, waitOpts);
    expect(sink.taskArns()).toEqual([
      `${CLUSTER_ARN.replace(':cluster/', ':task/')}/${'2'.padStart(32, '0')}`,
    ]);
    expect(others).toEqual([OTHER_CLUSTER_ARN]);
    expect(source.stats()).toMatchObject({ otherClusterEvents: 1, messagesDeleted: 2 });
  });

  it('other detail types reach the store as ignored events and are deleted', async () => {
    const q = await newQueue();
    const action = {
      ...taskEvent(1),
      'detail-type': 'ECS Service Action',
      detail: { clusterArn: CLUSTER_ARN, eventName: 'SERVICE_STEADY_STATE' },
    };
    await send(q.url, [JSON.stringify(action)]);
    const sink = new RecordingSink();
    startSource({ queueUrl: q.url, sink });
    await vi.waitFor(() => expect(depth(q.name)).toBe(0), waitOpts);
    expect(sink.events).toEqual([
      expect.objectContaining({ kind: 'ignored', detailType: 'ECS Service Action' }),
    ]);
  });

  it('deletes only after dispatch: a sink that throws leaves the message, which comes back', async () => {
    const q = await newQueue({ VisibilityTimeout: '1' });
    await send(q.url, [JSON.stringify(taskEvent(3))]);
    const sink = new RecordingSink();
    sink.failuresLeft = 1;
    const { sqs, calls } = newClient();
    const source = startSource({ queueUrl: q.url, sink, sqs });

    // After the visibility timeout the same message is received again and, this time, deleted
    // (the source counts the delete once its answer is back, after fauxqs has removed the message).
    await vi.waitFor(() => expect(source.stats().messagesDeleted).toBe(1), waitOpts);
    expect(depth(q.name)).toBe(0);
    expect(sink.taskArns()).toHaveLength(1);
    // Judged from the calls, not from the clock: the first delivery's receipt handle (the one whose
    // dispatch threw) was never deleted; the delete used the second delivery's.
    const handles = calls
      .filter((c) => c.name === 'ReceiveMessageCommand')
      .flatMap((c) => c.output?.Messages ?? [])
      .map((m) => m.ReceiptHandle);
    const deleted = calls
      .filter((c) => c.name === 'DeleteMessageBatchCommand')
      .flatMap((c) => c.input.Entries ?? [])
      .map((e) => e.ReceiptHandle);
    expect(handles).toHaveLength(2);
    expect(deleted).toEqual([handles[1]]);
    expect(source.stats()).toMatchObject({ messagesReceived: 2, messagesDeleted: 1, dispatchErrors: 1 });
  });

  it('hands a whole receive to the store in one step when the sink takes batches', async () => {
    const q = await newQueue();
    await send(
      q.url,
      Array.from({ length: 5 }, (_, i) => JSON.stringify(taskEvent(40 + i))),
    );
    const sink = new BatchSink();
    const source = startSource({ queueUrl: q.url, sink });
    await vi.waitFor(() => expect(source.stats().messagesDeleted).toBe(5), waitOpts);
    expect(sink.taskArns()).toHaveLength(5);
    // One dispatchBatch per non-empty receive, never one dispatch per event.
    expect(sink.single).toBe(0);
    expect(sink.batches.reduce((a, b) => a + b, 0)).toBe(5);
    expect(sink.batches.length).toBeLessThan(5);
  });

  it('a batch the store refuses is dispatched message by message; only the refused message stays', async () => {
    const q = await newQueue({ VisibilityTimeout: '1' });
    await send(q.url, [JSON.stringify(taskEvent(50)), JSON.stringify(taskEvent(51))]);
    const sink = new BatchSink();
    sink.refuseBatches = true;
    sink.failuresLeft = 1;
    const source = startSource({ queueUrl: q.url, sink });
    await vi.waitFor(() => expect(source.stats().messagesDeleted).toBe(2), waitOpts);
    expect(depth(q.name)).toBe(0);
    expect(sink.taskArns().sort()).toEqual(
      [50, 51].map((n) => `${CLUSTER_ARN.replace(':cluster/', ':task/')}/${String(n).padStart(32, '0')}`),
    );
    expect(source.stats().dispatchErrors).toBe(1);
  });

  it('deletes in batches of at most 10, one DeleteMessageBatch per received batch', async () => {
    const q = await newQueue();
    await send(
      q.url,
      Array.from({ length: 25 }, (_, i) => JSON.stringify(taskEvent(100 + i))),
    );
    const sink = new RecordingSink();
    const { sqs, calls } = newClient();
    let nonEmptyReceives = 0;
    const source = startSource({
      queueUrl: q.url,
      sink,
      sqs,
      hooks: { onReceived: () => (nonEmptyReceives += 1) },
    });
    await vi.waitFor(() => expect(source.stats().messagesDeleted).toBe(25), waitOpts);
    const deletes = calls.filter((c) => c.name === 'DeleteMessageBatchCommand');
    const sizes = deletes.map((c) => c.input.Entries?.length ?? 0);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(25);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(10);
    expect(deletes.length).toBe(nonEmptyReceives);
    expect(deletes.length).toBeGreaterThanOrEqual(3);
    expect(depth(q.name)).toBe(0);
  });

  it('retries the failed entries of a partially failed DeleteMessageBatch once', async () => {
    const q = await newQueue();
    await send(q.url, [
      JSON.stringify(taskEvent(1)),
      JSON.stringify(taskEvent(2)),
      JSON.stringify(taskEvent(3)),
    ]);
    const { sqs, calls } = newClient();
    // Rewrite the first answer as AWS reports a partial failure: one entry moved to Failed.
    let tampered = false;
    sqs.middlewareStack.add(
      (next, context) => async (args) => {
        const result = await next(args);
        if (context.commandName === 'DeleteMessageBatchCommand' && !tampered) {
          tampered = true;
          const output = result.output as { Successful?: { Id: string }[]; Failed?: unknown[] };
          const [first, ...rest] = output.Successful ?? [];
          output.Successful = rest;
          output.Failed = [
            { Id: first!.Id, SenderFault: false, Code: 'InternalError', Message: 'try again' },
          ];
        }
        return result;
      },
      { step: 'initialize', name: 'partialFailure', priority: 'high' },
    );
    const sink = new RecordingSink();
    const source = startSource({ queueUrl: q.url, sink, sqs, maxMessages: 10 });
    await vi.waitFor(() => expect(source.stats().messagesDeleted).toBe(3), waitOpts);
    const deletes = calls.filter((c) => c.name === 'DeleteMessageBatchCommand');
    expect(deletes.length).toBeGreaterThanOrEqual(2);
    // The retry carries exactly the one failed entry (the first batch may hold fewer than 3 messages).
    expect(deletes[1]?.input.Entries).toHaveLength(1);
    expect(deletes[1]?.input.Entries?.[0]?.Id).toBe(deletes[0]?.input.Entries?.[0]?.Id);
    expect(source.stats().deleteFailures).toBe(0);
  });

  it('a hook that throws neither ends the loop nor escapes as an unhandled rejection', async () => {
    const q = await newQueue({ VisibilityTimeout: '1' });
    await send(q.url, [JSON.stringify(taskEvent(7))]);
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      let receivedThrows = 1;
      let deletedThrows = 1;
      const sink = new RecordingSink();
      const source = startSource({
        queueUrl: q.url,
        sink,
        maxMessages: 1,
        hooks: {
          onReceived: () => {
            if (receivedThrows-- > 0) throw new Error('hook bug on receive');
          },
          onDeleted: () => {
            if (deletedThrows-- > 0) throw new Error('hook bug on delete');
          },
        },
      });
      // First receive: the hook throws before dispatch, so the message stays and comes back after
      // the visibility timeout; the second time it is dispatched and deleted (that hook throws too).
      await vi.waitFor(() => expect(depth(q.name)).toBe(0), waitOpts);
      await send(q.url, [JSON.stringify(taskEvent(8))]);
      await vi.waitFor(() => expect(source.stats().messagesDeleted).toBe(2), waitOpts);
      expect(source.running).toBe(true);
      expect(sink.taskArns()).toHaveLength(2);
      await source.stop();
      // Unhandled rejections are reported on the next turn of the event loop.
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('stop() aborts the in-flight long poll and ends the loop', async () => {
    const q = await newQueue();
    const { sqs, calls } = newClient();
    const source = startSource({ queueUrl: q.url, sink: new RecordingSink(), sqs, waitTimeSeconds: 20 });
    await vi.waitFor(
      () => expect(calls.some((c) => c.name === 'ReceiveMessageCommand')).toBe(true),
      waitOpts,
    );
    await source.stop();
    expect(source.running).toBe(false);
    // A 20 s poll on an empty queue that was not aborted would have completed as a receive.
    expect(source.stats()).toMatchObject({ receives: 0, receiveErrors: 0 });
    expect(source.isHealthy()).toBe(false);
  });
});

describe('SqsSource receive errors', () => {
  it('backs off while SQS is unreachable, reports unhealthy, and recovers when it returns', async () => {
    const relay = await startRelay(fq.port);
    try {
      const q = await newQueue();
      const { sqs } = newClient(`http://127.0.0.1:${relay.port}`);
      const sink = new RecordingSink();
      const metrics = new RecordedMetrics();
      const health: boolean[] = [];
      relay.setUp(false);
      const source = startSource({ queueUrl: q.url, sink, sqs, metrics });
      const sub = source.healthy$.subscribe((h) => health.push(h));

      await vi.waitFor(() => expect(source.stats().receiveErrors).toBeGreaterThanOrEqual(3), waitOpts);
      expect(source.isHealthy()).toBe(false);
      const since = source.unhealthySince();
      expect(since).toBeDefined();
      expect(metrics.sqsHealthy).toBe(false);
      // The outage start is the first failure, not the latest one.
      await vi.waitFor(() => expect(source.stats().receiveErrors).toBeGreaterThanOrEqual(5), waitOpts);
      expect(source.unhealthySince()).toBe(since);

      relay.setUp(true);
      await send(q.url, [JSON.stringify(taskEvent(9))]);
      await vi.waitFor(() => expect(depth(q.name)).toBe(0), waitOpts);
      expect(source.isHealthy()).toBe(true);
      expect(source.unhealthySince()).toBeUndefined();
      expect(sink.taskArns()).toHaveLength(1);
      expect(health).toEqual([true, false, true]);
      expect(metrics.sqsHealthy).toBe(true);
      sub.unsubscribe();
      await source.stop();
    } finally {
      await relay.close();
    }
  });

  it('a missing queue is a receive error too, never a crash', async () => {
    const q = await newQueue();
    const source = startSource({
      queueUrl: q.url.replace(q.name, 'does-not-exist'),
      sink: new RecordingSink(),
    });
    await vi.waitFor(() => expect(source.stats().receiveErrors).toBeGreaterThanOrEqual(2), waitOpts);
    expect(source.isHealthy()).toBe(false);
    await source.stop();
    expect(source.running).toBe(false);
  });
});

/** A TCP relay to fauxqs that can refuse connections, to simulate an SQS outage without losing the queue. */
async function startRelay(
  target: number,
): Promise<{ port: number; setUp(up: boolean): void; close(): Promise<void> }> {
  let up = true;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    if (!up) {
      client.destroy();
      return;
    }
    const backend: Socket = connect(target, '127.0.0.1');
    sockets.add(client);
    sockets.add(backend);
    const drop = () => {
      client.destroy();
      backend.destroy();
      sockets.delete(client);
      sockets.delete(backend);
    };
    client.on('error', drop).on('close', drop);
    backend.on('error', drop).on('close', drop);
    client.pipe(backend).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    setUp(value) {
      up = value;
      if (!value) for (const s of sockets) s.destroy();
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
