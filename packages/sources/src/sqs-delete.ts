import {
  DeleteMessageBatchCommand,
  type DeleteMessageBatchRequestEntry,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { Logger } from '@ecs-ingress/types';

/** DeleteMessageBatch takes at most 10 entries. */
const MAX_BATCH_ENTRIES = 10;

/**
 * Deletes received messages, 10 a call; failed entries, or a whole failed call, are retried once.
 * `onChunk` reports each call's result as it comes: what was deleted, and what was not (those come
 * back after the visibility timeout, and the store drops the repeat by version).
 */
export async function deleteMessages(
  sqs: SQSClient,
  queueUrl: string,
  entries: readonly DeleteMessageBatchRequestEntry[],
  logger: Logger,
  onChunk: (deleted: number, notDeleted: number) => void,
): Promise<void> {
  for (let i = 0; i < entries.length; i += MAX_BATCH_ENTRIES) {
    let pending = entries.slice(i, i + MAX_BATCH_ENTRIES);
    let deleted = 0;
    for (let round = 0; round < 2 && pending.length > 0; round += 1) {
      try {
        const answer = await sqs.send(
          new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: pending }),
        );
        const failedIds = new Set((answer.Failed ?? []).map((f) => f.Id));
        deleted += pending.length - failedIds.size;
        if (failedIds.size > 0) {
          logger.warn(
            { failed: answer.Failed, round },
            round === 0
              ? 'DeleteMessageBatch: some entries failed; retrying them'
              : 'DeleteMessageBatch: entries failed again',
          );
        }
        pending = pending.filter((e) => failedIds.has(e.Id));
      } catch (err) {
        logger.warn({ err, entries: pending.length, round }, 'DeleteMessageBatch failed');
      }
    }
    if (pending.length > 0) {
      logger.error({ entries: pending.length }, 'messages not deleted; they will be redelivered');
    }
    onChunk(deleted, pending.length);
  }
}
