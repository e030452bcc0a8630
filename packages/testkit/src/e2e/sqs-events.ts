/**
 * Shared by the daemon's and the recorder's integration tests: ECS events as EventBridge delivers
 * them to SQS, built from the fake ECS's tasks.
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
