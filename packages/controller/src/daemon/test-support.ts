/**
 * Shared by the daemon's and the recorder's integration tests: ECS events as EventBridge delivers
 * them to SQS, built from the fake ECS's tasks, and a poll helper with a bounded number of rounds.
 */
import { randomUUID } from 'node:crypto';
import type { Task } from '@aws-sdk/client-ecs';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';

/** An `ECS Task State Change` event body for `task` (its fields as ECS puts them in `detail`). */
export function taskChangeBody(task: Task, options: { region?: string; account?: string } = {}): string {
  const arn = task.taskArn ?? '';
  const account = options.account ?? arn.split(':')[4] ?? '123456789012';
  const region = options.region ?? arn.split(':')[3] ?? 'us-east-1';
  const updatedAt = new Date();
  return JSON.stringify({
    version: '0',
    id: randomUUID(),
    'detail-type': 'ECS Task State Change',
    source: 'aws.ecs',
    account,
    time: updatedAt.toISOString(),
    region,
    resources: [arn],
    // Dates become ISO strings through toJSON, as in real events.
    detail: { ...task, updatedAt },
  });
}

/** Sends `body` and resolves when SendMessage completed (the message is visible). */
export async function sendBody(sqs: SQSClient, queueUrl: string, body: string): Promise<void> {
  await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }));
}

/**
 * Polls `probe` every `intervalMs` until it returns a value other than `undefined`, at most
 * `rounds` times; throws with `what` when it never does. (Bounded: no test waits forever.)
 */
export async function eventually<T>(
  what: string,
  probe: () => T | undefined | Promise<T | undefined>,
  options: { rounds?: number; intervalMs?: number } = {},
): Promise<T> {
  const rounds = options.rounds ?? 200;
  const intervalMs = options.intervalMs ?? 50;
  let lastError: unknown;
  for (let i = 0; i < rounds; i++) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
}
