/** One SQS message read as ECS events: pure, no I/O (the source counts, logs and deletes). */
import type { Message } from '@aws-sdk/client-sqs';
import { type ClusterEvent, EventParseError, parseEventBody } from '@ecs-ingress/types';

/** One message of our cluster, parsed, waiting for the store. */
export interface ParsedMessage {
  readonly message: Message;
  readonly detailType: string;
  readonly events: readonly ClusterEvent[];
  /** SQS's SentTimestamp (epoch ms), when the message carries a valid one. */
  readonly sentTimestampMs: number | undefined;
}

/**
 * The events of `message`, or why it carries none for us: a body that is no event
 * (`invalid`, with the parser's reason) or an event of another cluster (`otherCluster`).
 * @throws what the parser throws besides `EventParseError` (a bug, not bad input)
 */
export function readSqsMessage(
  message: Message,
  isOurCluster: (clusterArn: string) => boolean,
): ParsedMessage | { readonly invalid: EventParseError } | { readonly otherCluster: string } {
  let parsed: ReturnType<typeof parseEventBody>;
  try {
    parsed = parseEventBody(message.Body ?? '');
  } catch (err) {
    if (err instanceof EventParseError) return { invalid: err };
    throw err;
  }
  if (parsed.clusterArn !== undefined && !isOurCluster(parsed.clusterArn))
    return { otherCluster: parsed.clusterArn };
  const sent = Number(message.Attributes?.SentTimestamp);
  const sentTimestampMs = Number.isFinite(sent) && sent > 0 ? sent : undefined;
  return { message, detailType: parsed.detailType, events: parsed.events, sentTimestampMs };
}
