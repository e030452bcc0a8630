/**
 * Idempotent single steps against SQS and EventBridge, shared by teardown and the reaper. Each one
 * treats "already gone" as success, so teardown can be repeated and two reapers can race.
 */
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import {
  DeleteQueueCommand,
  GetQueueUrlCommand,
  QueueDoesNotExist,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { ProvisioningAction } from './types.js';

/** SQS says "no such queue" as QueueDoesNotExist (JSON protocol) or its query-protocol name. */
export function isQueueMissing(err: unknown): boolean {
  if (err instanceof QueueDoesNotExist) return true;
  const name = (err as { name?: unknown } | null)?.name;
  return name === 'QueueDoesNotExist' || name === 'AWS.SimpleQueueService.NonExistentQueue';
}

export function isRuleMissing(err: unknown): boolean {
  return (err as { name?: unknown } | null)?.name === 'ResourceNotFoundException';
}

/** RemoveTargets takes at most 10 ids per call. */
const REMOVE_TARGETS_MAX = 10;

/** Removes every target of the rule, then the rule. */
export async function deleteRuleAndTargets(
  events: EventBridgeClient,
  ruleName: string,
  ruleArn?: string,
): Promise<ProvisioningAction[]> {
  const { DeleteRuleCommand, ListTargetsByRuleCommand, RemoveTargetsCommand } = await import(
    '@aws-sdk/client-eventbridge'
  );
  const actions: ProvisioningAction[] = [];
  const ids: string[] = [];
  try {
    let token: string | undefined;
    do {
      const page = await events.send(new ListTargetsByRuleCommand({ Rule: ruleName, NextToken: token }));
      for (const t of page.Targets ?? []) if (t.Id) ids.push(t.Id);
      token = page.NextToken;
    } while (token);
  } catch (err) {
    if (!isRuleMissing(err)) throw err;
    return [{ action: 'absent', kind: 'rule', name: ruleName }];
  }
  for (let i = 0; i < ids.length; i += REMOVE_TARGETS_MAX) {
    const chunk = ids.slice(i, i + REMOVE_TARGETS_MAX);
    try {
      const answer = await events.send(new RemoveTargetsCommand({ Rule: ruleName, Ids: chunk }));
      if ((answer.FailedEntryCount ?? 0) > 0) {
        throw new Error(`RemoveTargets failed for ${JSON.stringify(answer.FailedEntries)}`);
      }
    } catch (err) {
      if (!isRuleMissing(err)) throw err;
    }
    for (const id of chunk) actions.push({ action: 'deleted', kind: 'target', name: id });
  }
  // DeleteRule of a rule that no longer exists succeeds (EventBridge answers 200).
  try {
    await events.send(new DeleteRuleCommand({ Name: ruleName }));
  } catch (err) {
    if (!isRuleMissing(err)) throw err;
  }
  actions.push(
    ruleArn === undefined
      ? { action: 'deleted', kind: 'rule', name: ruleName }
      : { action: 'deleted', kind: 'rule', name: ruleName, id: ruleArn },
  );
  return actions;
}

/** Looks the queue up by name and deletes it. */
export async function deleteQueueByName(sqs: SQSClient, queueName: string): Promise<ProvisioningAction> {
  let queueUrl: string | undefined;
  try {
    queueUrl = (await sqs.send(new GetQueueUrlCommand({ QueueName: queueName }))).QueueUrl;
  } catch (err) {
    if (!isQueueMissing(err)) throw err;
  }
  if (!queueUrl) return { action: 'absent', kind: 'queue', name: queueName };
  return deleteQueueByUrl(sqs, queueName, queueUrl);
}

export async function deleteQueueByUrl(
  sqs: SQSClient,
  queueName: string,
  queueUrl: string,
): Promise<ProvisioningAction> {
  try {
    await sqs.send(new DeleteQueueCommand({ QueueUrl: queueUrl }));
  } catch (err) {
    if (!isQueueMissing(err)) throw err;
    return { action: 'absent', kind: 'queue', name: queueName, id: queueUrl };
  }
  return { action: 'deleted', kind: 'queue', name: queueName, id: queueUrl };
}

/** The last path segment of a queue URL (`…/<account>/<name>`). */
export function queueNameOfUrl(queueUrl: string): string {
  const trimmed = queueUrl.replace(/\/+$/, '');
  return trimmed.slice(trimmed.lastIndexOf('/') + 1);
}
