/**
 * The text of an SQS message body, or one line of a JSONL recording → `ClusterEvent`s.
 *
 * Accepted shapes:
 * - an EventBridge event (`source`, `detail-type`, `time`, `id`, `account`, `region`, `resources`, `detail`);
 * - an SNS notification wrapping one (`Type: "Notification"`, `Message` = the event as a JSON string),
 *   which is what an SQS queue subscribed to a topic receives without raw message delivery;
 * - an ecs-ingress observation line (`source: "ecs-ingress"`, see observation.ts).
 *
 * `aws.ecs` + `ECS Task State Change` becomes a `TaskObservedEvent`. Every other well-formed event
 * (`ECS Service Action`, `ECS Deployment State Change`, `ECS Container Instance State Change`, other
 * sources) becomes an `IgnoredEvent`: the queue may carry them and they are acknowledged, not errors.
 * Container instance state change events are ignored too: they name the EC2 instance but carry no
 * IP, so the poller's DescribeInstances remains the one place an instance's address comes from.
 */
import { z } from 'zod';
import type { ClusterEvent } from '../domain.js';
import { EventParseError } from '../errors.js';
import { OBSERVATION_SOURCE, parseObservation } from './observation.js';
import { requireRecord, schemaError } from './schema-error.js';
import { parseTaskAt } from './task.js';
import { readTimestamp } from './timestamps.js';

/** The result of parsing one message body or recording line. */
export interface ParsedEnvelope {
  /** What the store is told: one event (a task, a task definition, …, or an `ignored` marker). */
  readonly events: ClusterEvent[];
  /** The envelope `source` (`aws.ecs`, `ecs-ingress`, …), of the inner event for SNS. */
  readonly source: string;
  /** The envelope `detail-type`; for a non-notification SNS message, `SNS <Type>`. */
  readonly detailType: string;
  /** Envelope `time` in epoch ms; for observations without one, the fallback used (snapshot `startedAt`, task `updatedAt`). */
  readonly time?: number;
  /** The cluster named by the detail (`detail.clusterArn`), for `--cluster` filtering. */
  readonly clusterArn?: string;
  /** The EventBridge envelope `id` (not unique enough to de-duplicate on; `detail.version` is). */
  readonly id?: string;
  /** Present when the event came wrapped in an SNS notification. */
  readonly sns?: { readonly messageId?: string; readonly topicArn?: string };
}

const ECS_SOURCE = 'aws.ecs';
const TASK_STATE_CHANGE = 'ECS Task State Change';

const envelopeSchema = z.object({
  source: z.string().min(1),
  'detail-type': z.string().min(1),
  id: z.string().nullish(),
  time: z.unknown().optional(),
  detail: z.unknown().optional(),
});

const snsSchema = z.object({
  Type: z.string(),
  MessageId: z.string().nullish(),
  TopicArn: z.string().nullish(),
  Message: z.string(),
});

/**
 * Parses the text of an SQS message body or a JSONL line.
 * @throws EventParseError (`code` ECS_INGRESS_EVENT_INVALID) with a short `reason`: `not-json`,
 *   `not-an-object`, `missing-field:<path>`, `invalid-field:<path>`, `bad-timestamp:<path>`,
 *   `not-json:Message`, `unknown-observation-type`, `nested-sns`
 */
export function parseEventBody(text: string): ParsedEnvelope {
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch (cause) {
    throw new EventParseError('not-json', `message body is not JSON: ${(cause as Error).message}`, { cause });
  }
  return parseEventObject(obj);
}

/** As `parseEventBody`, for JSON that is already parsed. */
export function parseEventObject(obj: unknown): ParsedEnvelope {
  const record = requireRecord(obj, '', 'event');
  if (isSnsEnvelope(record)) return parseSns(record);
  return parseEnvelope(record);
}

/** An SNS message has `Type` and no `detail-type` (an EventBridge event never has `Type`). */
function isSnsEnvelope(record: Record<string, unknown>): boolean {
  return typeof record.Type === 'string' && !('detail-type' in record);
}

function parseSns(record: Record<string, unknown>): ParsedEnvelope {
  const parsed = snsSchema.safeParse(record);
  if (!parsed.success) throw schemaError(parsed.error, record, '', 'SNS message');
  const message = parsed.data;
  const sns: { messageId?: string; topicArn?: string } = {};
  if (message.MessageId) sns.messageId = message.MessageId;
  if (message.TopicArn) sns.topicArn = message.TopicArn;
  if (message.Type !== 'Notification') {
    // SubscriptionConfirmation / UnsubscribeConfirmation: well-formed, nothing for the store.
    const detailType = `SNS ${message.Type}`;
    return {
      events: [{ kind: 'ignored', detailType, reason: 'sns-not-a-notification' }],
      source: 'aws.sns',
      detailType,
      sns,
    };
  }
  let inner: unknown;
  try {
    inner = JSON.parse(message.Message);
  } catch (cause) {
    throw new EventParseError(
      'not-json:Message',
      `SNS notification Message is not JSON: ${(cause as Error).message}`,
      {
        cause,
      },
    );
  }
  const innerRecord = requireRecord(inner, 'Message', 'SNS notification');
  if (isSnsEnvelope(innerRecord)) {
    throw new EventParseError('nested-sns', 'SNS notification wraps another SNS message, not an event');
  }
  return { ...parseEnvelope(innerRecord), sns };
}

function parseEnvelope(record: Record<string, unknown>): ParsedEnvelope {
  const parsed = envelopeSchema.safeParse(record);
  if (!parsed.success) throw schemaError(parsed.error, record, '', 'event');
  const envelope = parsed.data;
  const source = envelope.source;
  const detailType = envelope['detail-type'];
  const time = readTimestamp(envelope.time, 'time');
  const detail = requireRecord(envelope.detail, 'detail', 'event');
  const id = envelope.id ?? undefined;

  if (source === OBSERVATION_SOURCE) {
    const observation = parseObservation(detailType, detail, time);
    return build([observation.event], source, detailType, observation.time, observation.clusterArn, id);
  }

  if (source === ECS_SOURCE && detailType === TASK_STATE_CHANGE) {
    if (time === undefined) {
      throw new EventParseError('missing-field:time', 'ECS Task State Change event has no time');
    }
    const task = parseTaskAt(detail, time, 'event', 'detail');
    const event: ClusterEvent =
      id === undefined ? { kind: 'task', task } : { kind: 'task', task, eventId: id };
    return build([event], source, detailType, time, task.clusterArn, id);
  }

  const reason = source === ECS_SOURCE ? 'detail-type-not-handled' : 'source-not-handled';
  const ignored: ClusterEvent =
    time === undefined
      ? { kind: 'ignored', detailType, reason }
      : { kind: 'ignored', detailType, reason, observedAt: time };
  const clusterArn =
    typeof detail.clusterArn === 'string' && detail.clusterArn !== '' ? detail.clusterArn : undefined;
  return build([ignored], source, detailType, time, clusterArn, id);
}

function build(
  events: ClusterEvent[],
  source: string,
  detailType: string,
  time: number | undefined,
  clusterArn: string | undefined,
  id: string | undefined,
): ParsedEnvelope {
  const result: { -readonly [K in keyof ParsedEnvelope]: ParsedEnvelope[K] } = { events, source, detailType };
  if (time !== undefined) result.time = time;
  if (clusterArn !== undefined) result.clusterArn = clusterArn;
  if (id !== undefined) result.id = id;
  return result;
}
