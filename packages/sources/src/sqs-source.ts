/**
 * The SQS source: long-polls one queue that EventBridge (directly, or through SNS) fills with ECS
 * events, hands every event to the store, and deletes a message only once the store took it.
 *
 * At-least-once all the way: a message is deleted after `sink.dispatch` returned for each of its
 * events, so a crash between the two only redelivers it, and the store drops the duplicate by the
 * task's `version`. A message whose dispatch throws is left alone and reappears after the queue's
 * visibility timeout.
 */
import {
  type DeleteMessageBatchRequestEntry,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { backoffDelay, type ClusterEvent, type Logger, silentLogger } from '@ecs-ingress/types';
import { BehaviorSubject, distinctUntilChanged, type Observable } from 'rxjs';
import { clusterMatches } from './cluster-name.js';
import type { DispatchOutcome, EventSink } from './event-sink.js';
import { abortableSleep } from './sleep.js';
import type { SourceMetrics } from './source-metrics.js';
import { deleteMessages } from './sqs-delete.js';
import { type ParsedMessage, readSqsMessage } from './sqs-message.js';

/** Optional counters and timing hooks (the runtime wires them to metrics or benchmarks). */
export interface SqsSourceHooks {
  /** Messages returned by one ReceiveMessage call (> 0 only). */
  onReceived?(count: number): void;
  /** Messages deleted by one DeleteMessageBatch round (retries included). */
  onDeleted?(count: number): void;
  /** One event of this detail type was parsed from a message of our cluster. */
  onEvent?(detailType: string): void;
  /** A message body could not be parsed. */
  onInvalid?(reason: string, messageId: string | undefined): void;
  /** An event of another cluster was skipped. */
  onOtherCluster?(clusterArn: string): void;
  /**
   * The store took `event`. `sentTimestampMs` is SQS's SentTimestamp (the message became visible in
   * the queue), `receivedAtMs` our clock at receive: the runtime measures message → serving from here.
   */
  onDispatched?(
    event: ClusterEvent,
    outcome: DispatchOutcome,
    sentTimestampMs: number | undefined,
    receivedAtMs: number,
  ): void;
}

/** What the queue source reports for metrics. */
export type SqsSourceMetrics = Pick<
  SourceMetrics,
  'eventReceived' | 'invalidEvent' | 'sqsMessagesReceived' | 'sqsMessagesDeleted' | 'sqsSourceHealthy'
>;

export interface SqsSourceOptions {
  readonly sqs: SQSClient;
  readonly queueUrl: string;
  readonly sink: EventSink;
  /** Cluster name or ARN; events naming another cluster are acknowledged and skipped. Unset: accept all. */
  readonly cluster?: string;
  readonly logger?: Logger;
  readonly metrics?: SqsSourceMetrics;
  readonly hooks?: SqsSourceHooks;
  /** Long-poll wait, 0..20 s (SQS maximum 20). Default 20. */
  readonly waitTimeSeconds?: number;
  /** Messages per receive, 1..10 (SQS maximum 10). Default 10. */
  readonly maxMessages?: number;
  /**
   * Unparseable bodies: `delete` (default) acknowledges them after logging; `leave` lets them come
   * back until the queue's redrive policy moves them to its dead-letter queue.
   */
  readonly malformed?: 'delete' | 'leave';
  /** Receive-error backoff (the shared `backoffDelay`): base doubling to cap, jittered. Default 1 s / 30 s. */
  readonly backoff?: { readonly baseMs?: number; readonly capMs?: number };
  /** For tests: the jitter source (default Math.random) and the clock (default Date.now). */
  readonly random?: () => number;
  readonly now?: () => number;
}

/** Running totals since start, for logs, `/debug` and tests. */
export interface SqsSourceStats {
  receives: number;
  receiveErrors: number;
  messagesReceived: number;
  messagesDeleted: number;
  deleteFailures: number;
  eventsDispatched: number;
  dispatchErrors: number;
  invalidMessages: number;
  otherClusterEvents: number;
}

/** SQS limits: ReceiveMessage returns at most 10 messages, waits at most 20 s; a batch holds ≤ 10 entries. */
const MAX_RECEIVE = 10;
const MAX_WAIT_SECONDS = 20;

export class SqsSource {
  private readonly sqs: SQSClient;
  private readonly queueUrl: string;
  private readonly sink: EventSink;
  private readonly cluster: string | undefined;
  private readonly logger: Logger;
  private readonly metrics: SqsSourceMetrics | undefined;
  private readonly hooks: SqsSourceHooks;
  private readonly waitTimeSeconds: number;
  private readonly maxMessages: number;
  private readonly malformed: 'delete' | 'leave';
  private readonly baseMs: number;
  private readonly capMs: number;
  private readonly random: () => number;
  private readonly now: () => number;

  private readonly healthy = new BehaviorSubject<boolean>(false);
  private unhealthyAt: number | undefined;
  private abort: AbortController | undefined;
  private loop: Promise<void> | undefined;
  private readonly pendingDeletes = new Set<Promise<void>>();
  private readonly counts: SqsSourceStats = {
    receives: 0,
    receiveErrors: 0,
    messagesReceived: 0,
    messagesDeleted: 0,
    deleteFailures: 0,
    eventsDispatched: 0,
    dispatchErrors: 0,
    invalidMessages: 0,
    otherClusterEvents: 0,
  };

  /** Emits on every change of health; the current value on subscribe. */
  readonly healthy$: Observable<boolean> = this.healthy.pipe(distinctUntilChanged());

  constructor(options: SqsSourceOptions) {
    this.sqs = options.sqs;
    this.queueUrl = options.queueUrl;
    this.sink = options.sink;
    this.cluster = options.cluster === '' ? undefined : options.cluster;
    this.logger = (options.logger ?? silentLogger).child({ component: 'sqs-source' });
    this.metrics = options.metrics;
    this.hooks = options.hooks ?? {};
    this.waitTimeSeconds = clampInt(options.waitTimeSeconds ?? MAX_WAIT_SECONDS, 0, MAX_WAIT_SECONDS);
    this.maxMessages = clampInt(options.maxMessages ?? MAX_RECEIVE, 1, MAX_RECEIVE);
    this.malformed = options.malformed ?? 'delete';
    this.baseMs = Math.max(1, options.backoff?.baseMs ?? 1000);
    this.capMs = Math.max(this.baseMs, options.backoff?.capMs ?? 30_000);
    this.random = options.random ?? Math.random;
    this.now = options.now ?? Date.now;
  }

  /** Starts the receive loop (no-op when running). Health is assumed good until a receive fails. */
  start(): void {
    if (this.loop) return;
    this.abort = new AbortController();
    this.setHealthy(true);
    this.loop = this.run(this.abort.signal);
  }

  /** Aborts the in-flight long poll, then waits for the loop and for deletes already under way. */
  async stop(): Promise<void> {
    const loop = this.loop;
    if (!loop) return;
    this.abort?.abort();
    await loop;
    while (this.pendingDeletes.size > 0) await Promise.allSettled([...this.pendingDeletes]);
    this.loop = undefined;
    this.abort = undefined;
    this.healthy.next(false);
    this.metrics?.sqsSourceHealthy(false);
    this.unhealthyAt = undefined;
  }

  get running(): boolean {
    return this.loop !== undefined;
  }

  isHealthy(): boolean {
    return this.healthy.value;
  }

  /** Epoch ms of the first receive failure of the current outage; undefined while healthy or stopped. */
  unhealthySince(): number | undefined {
    return this.unhealthyAt;
  }

  stats(): Readonly<SqsSourceStats> {
    return { ...this.counts };
  }

  private async run(signal: AbortSignal): Promise<void> {
    let attempt = 0;
    while (!signal.aborted) {
      let messages: Message[];
      try {
        const answer = await this.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: this.queueUrl,
            MaxNumberOfMessages: this.maxMessages,
            WaitTimeSeconds: this.waitTimeSeconds,
            MessageSystemAttributeNames: ['SentTimestamp'],
          }),
          { abortSignal: signal },
        );
        messages = answer.Messages ?? [];
      } catch (err) {
        if (signal.aborted) break;
        this.counts.receiveErrors += 1;
        this.setHealthy(false);
        const delay = this.backoffDelay(attempt);
        attempt += 1;
        this.logger.warn(
          { err, attempt, retryInMs: delay, queueUrl: this.queueUrl },
          'SQS ReceiveMessage failed; backing off',
        );
        await abortableSleep(delay, signal);
        continue;
      }
      attempt = 0;
      this.counts.receives += 1;
      this.setHealthy(true);
      if (messages.length === 0) continue;
      try {
        this.handleBatch(messages);
      } catch (err) {
        // A throwing hook or metric must not end the loop (its promise is only awaited by stop(),
        // so a rejection would surface as an unhandled one). What was not deleted comes back.
        this.logger.error({ err, messages: messages.length }, 'unexpected error handling an SQS batch');
      }
    }
  }

  /**
   * Parses a batch, hands every event of our cluster to the store in one step (one state change per
   * receive), then deletes what the store took (in the background). If the store throws for the
   * batch, each message's events are dispatched on their own, so only the messages it refuses stay.
   */
  private handleBatch(messages: Message[]): void {
    const receivedAt = this.now();
    this.counts.messagesReceived += messages.length;
    this.metrics?.sqsMessagesReceived(messages.length);
    this.hooks.onReceived?.(messages.length);
    const done: DeleteMessageBatchRequestEntry[] = [];
    const toDispatch: ParsedMessage[] = [];
    for (const message of messages) {
      let parsed: ParsedMessage | boolean = false;
      try {
        parsed = this.parseMessage(message);
      } catch (err) {
        // A bug, not bad input: keep the message (it comes back) and keep the loop alive.
        this.logger.error({ err, messageId: message.MessageId }, 'unexpected error handling an SQS message');
      }
      if (typeof parsed === 'object') toDispatch.push(parsed);
      else if (parsed && message.ReceiptHandle) done.push(this.deleteEntry(message, done.length));
    }
    for (const item of this.dispatchAll(toDispatch, receivedAt)) {
      if (item.message.ReceiptHandle) done.push(this.deleteEntry(item.message, done.length));
    }
    if (done.length === 0) return;
    // Never rejects: nobody awaits this until stop(), and an unhandled rejection ends the process.
    const task = this.deleteAll(done)
      .catch((err: unknown) => this.logger.error({ err }, 'unexpected error deleting SQS messages'))
      .finally(() => this.pendingDeletes.delete(task));
    this.pendingDeletes.add(task);
  }

  private deleteEntry(message: Message, index: number): DeleteMessageBatchRequestEntry {
    return { Id: `m${index}`, ReceiptHandle: message.ReceiptHandle };
  }

  /**
   * @returns the parsed events of a message of our cluster, or whether the message may be deleted
   * right away (another cluster's: yes; unparseable: as the malformed-message policy says).
   */
  private parseMessage(message: Message): ParsedMessage | boolean {
    const messageId = message.MessageId;
    const read = readSqsMessage(message, (clusterArn) => this.isOurCluster(clusterArn));
    if ('invalid' in read) {
      this.counts.invalidMessages += 1;
      this.metrics?.invalidEvent();
      this.hooks.onInvalid?.(read.invalid.reason, messageId);
      this.logger.warn(
        { messageId, reason: read.invalid.reason, error: read.invalid.message, action: this.malformed },
        'unparseable SQS message body',
      );
      return this.malformed === 'delete';
    }
    if ('otherCluster' in read) {
      // Acknowledged and skipped: a shared queue may carry several clusters' events.
      this.counts.otherClusterEvents += 1;
      this.hooks.onOtherCluster?.(read.otherCluster);
      this.logger.debug({ messageId, clusterArn: read.otherCluster }, 'event of another cluster skipped');
      return true;
    }
    return read;
  }

  /** @returns the messages whose events all reached the store. */
  private dispatchAll(items: readonly ParsedMessage[], receivedAt: number): ParsedMessage[] {
    for (const item of items) this.received(item);
    const events = items.flatMap((item) => item.events);
    let outcomes: readonly DispatchOutcome[] | undefined;
    if (this.sink.dispatchBatch && items.length > 0) {
      try {
        outcomes = this.sink.dispatchBatch(events).outcomes;
      } catch (err) {
        this.logger.warn(
          { err, events: events.length },
          'store refused a batch; dispatching its events one by one',
        );
      }
    }
    if (outcomes === undefined) return items.filter((item) => this.dispatchEach(item, receivedAt));
    let i = 0;
    for (const item of items) {
      for (const event of item.events) {
        this.dispatched(item, event, outcomes[i] as DispatchOutcome, receivedAt);
        i += 1;
      }
    }
    return [...items];
  }

  /** @returns true when every event of the message reached the store. */
  private dispatchEach(item: ParsedMessage, receivedAt: number): boolean {
    for (const event of item.events) {
      let outcome: DispatchOutcome;
      try {
        outcome = this.sink.dispatch(event);
      } catch (err) {
        // The store did not take it: keep the message so it comes back after the visibility timeout.
        this.counts.dispatchErrors += 1;
        this.logger.error(
          { err, messageId: item.message.MessageId, detailType: item.detailType },
          'store rejected an event',
        );
        return false;
      }
      this.dispatched(item, event, outcome, receivedAt);
    }
    return true;
  }

  /** Counted before the store sees them, as received (a refused event was still received). */
  private received(item: ParsedMessage): void {
    for (const _event of item.events) {
      this.metrics?.eventReceived('sqs', item.detailType);
      this.hooks.onEvent?.(item.detailType);
    }
  }

  private dispatched(
    item: ParsedMessage,
    event: ClusterEvent,
    outcome: DispatchOutcome,
    receivedAt: number,
  ): void {
    this.counts.eventsDispatched += 1;
    this.hooks.onDispatched?.(event, outcome, item.sentTimestampMs, receivedAt);
  }

  private async deleteAll(entries: DeleteMessageBatchRequestEntry[]): Promise<void> {
    await deleteMessages(this.sqs, this.queueUrl, entries, this.logger, (deleted, notDeleted) => {
      if (deleted > 0) {
        this.counts.messagesDeleted += deleted;
        this.metrics?.sqsMessagesDeleted(deleted);
        this.hooks.onDeleted?.(deleted);
      }
      this.counts.deleteFailures += notDeleted;
    });
  }

  private isOurCluster(clusterArn: string): boolean {
    return this.cluster === undefined || clusterMatches(this.cluster, clusterArn);
  }

  private setHealthy(value: boolean): void {
    if (value) this.unhealthyAt = undefined;
    else this.unhealthyAt ??= this.now();
    this.healthy.next(value);
    this.metrics?.sqsSourceHealthy(value);
  }

  private backoffDelay(attempt: number): number {
    return backoffDelay(attempt + 1, { initialMs: this.baseMs, maxMs: this.capMs }, this.random);
  }
}

function clampInt(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, Math.trunc(value)));
}
