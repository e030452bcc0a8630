/**
 * Per-daemon queues (DESIGN.md "Fan-out"). An SQS message goes to one consumer, but every daemon
 * needs every event, so each daemon owns a queue and an EventBridge rule for its cluster's ECS
 * events that targets it. A rule takes at most 5 targets and the default bus holds 300 rules by
 * default (a raisable quota): hence one rule per daemon rather than one rule with many targets.
 *
 * Every call here is idempotent: a daemon that restarts finds its queue and rule and refreshes them.
 */
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  SetQueueAttributesCommand,
  type SQSClient,
  TagQueueCommand,
} from '@aws-sdk/client-sqs';
import { EcsIngressError, silentLogger } from '@ecs-ingress/types';
import { clusterNameOf } from '../cluster-name.js';
import {
  deleteQueueByName,
  deleteQueueByUrl,
  deleteRuleAndTargets,
  isQueueMissing,
  isRuleMissing,
} from './provisioning/aws-steps.js';
import {
  DEFAULT_PREFIX,
  instanceResourceName,
  TAG_CLUSTER,
  TAG_HEARTBEAT,
  TAG_INSTANCE,
  TARGET_ID,
} from './provisioning/names.js';
import type { ProvisioningAction, ProvisioningClients, QueueProvision } from './provisioning/types.js';

export interface EnsureInstanceQueueOptions extends ProvisioningClients {
  /** Full cluster ARN: the rule matches `detail.clusterArn` exactly, so a name would match nothing. */
  readonly clusterArn: string;
  /** Defaults to the name part of `clusterArn`. */
  readonly clusterName?: string;
  /** Container instance ARN or id, or a host id when not on ECS. */
  readonly instanceId: string;
  readonly prefix?: string;
  /** Message retention; default 1 day (SQS allows 60 s .. 14 days). Events older than that are useless. */
  readonly retentionSeconds?: number;
  /** For tests. */
  readonly now?: () => number;
}

export type TeardownInstanceQueueOptions = Omit<EnsureInstanceQueueOptions, 'retentionSeconds' | 'now'>;

/** ECS event types the daemon consumes (task changes; container instance changes for the cache). */
export const RULE_DETAIL_TYPES = ['ECS Task State Change', 'ECS Container Instance State Change'] as const;

const DEFAULT_RETENTION_SECONDS = 86_400;
/** The longest long poll SQS allows; consumers that pass no WaitTimeSeconds get it too. */
const RECEIVE_WAIT_SECONDS = 20;

/** The EventPattern of the per-daemon rule. */
export function eventPatternFor(clusterArn: string): string {
  return JSON.stringify({
    source: ['aws.ecs'],
    'detail-type': [...RULE_DETAIL_TYPES],
    detail: { clusterArn: [clusterArn] },
  });
}

/** Queue policy: EventBridge may send, and only on behalf of this one rule (confused-deputy guard). */
export function queuePolicyFor(queueArn: string, ruleArn: string): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'AllowEcsIngressRule',
        Effect: 'Allow',
        Principal: { Service: 'events.amazonaws.com' },
        Action: 'sqs:SendMessage',
        Resource: queueArn,
        Condition: { ArnEquals: { 'aws:SourceArn': ruleArn } },
      },
    ],
  });
}

/**
 * Creates (or finds and refreshes) this daemon's rule, queue and target. Order: the rule first
 * (without a target it delivers nothing), then the queue with a policy naming the rule's ARN, then
 * the target, so no event is ever sent to a queue that would refuse it.
 */
export async function ensureInstanceQueue(options: EnsureInstanceQueueOptions): Promise<QueueProvision> {
  const { sqs, clusterArn, instanceId } = options;
  const logger = (options.logger ?? silentLogger).child({ component: 'provisioning' });
  if (!clusterArn.startsWith('arn:')) {
    throw new EcsIngressError(
      'ECS_INGRESS_PROVISIONING_FAILED',
      `clusterArn must be an ARN, got ${clusterArn}`,
    );
  }
  const now = options.now ?? Date.now;
  const name = instanceResourceName(
    options.prefix ?? DEFAULT_PREFIX,
    options.clusterName ?? clusterNameOf(clusterArn),
    instanceId,
  );
  const tags = (): Record<string, string> => ({
    [TAG_CLUSTER]: clusterArn,
    [TAG_INSTANCE]: instanceId,
    [TAG_HEARTBEAT]: new Date(now()).toISOString(),
  });
  const actions: ProvisioningAction[] = [];

  try {
    // EventBridge is loaded here, at its first use (aws/clients.ts); a failure to load it fails this set-up.
    const [events, { ListTargetsByRuleCommand, PutRuleCommand, PutTargetsCommand, TagResourceCommand }] =
      await Promise.all([options.events(), import('@aws-sdk/client-eventbridge')]);
    // 1. Rule. PutRule both creates and updates; its Tags apply only at creation, so tag explicitly after.
    const ruleExisted = await ruleExists(events, name);
    const { RuleArn: ruleArn } = await events.send(
      new PutRuleCommand({
        Name: name,
        EventPattern: eventPatternFor(clusterArn),
        State: 'ENABLED',
        Description: `ecs-ingress: ECS events of ${clusterArn} for ${instanceId}`,
        Tags: toEventBridgeTags(tags()),
      }),
    );
    if (!ruleArn) throw new Error('PutRule returned no RuleArn');
    if (ruleExisted) {
      await events.send(new TagResourceCommand({ ResourceARN: ruleArn, Tags: toEventBridgeTags(tags()) }));
    }
    actions.push({ action: ruleExisted ? 'updated' : 'created', kind: 'rule', name, id: ruleArn });

    // 2. Queue. SSE-SQS is set at creation (it is on by default for new queues anyway).
    let queueUrl = await findQueueUrl(sqs, name);
    const queueExisted = queueUrl !== undefined;
    const retention = String(options.retentionSeconds ?? DEFAULT_RETENTION_SECONDS);
    if (queueUrl === undefined) {
      queueUrl = (
        await sqs.send(
          new CreateQueueCommand({
            QueueName: name,
            Attributes: {
              SqsManagedSseEnabled: 'true',
              MessageRetentionPeriod: retention,
              ReceiveMessageWaitTimeSeconds: String(RECEIVE_WAIT_SECONDS),
            },
            tags: tags(),
          }),
        )
      ).QueueUrl;
      if (!queueUrl) throw new Error('CreateQueue returned no QueueUrl');
    } else {
      await sqs.send(new TagQueueCommand({ QueueUrl: queueUrl, Tags: tags() }));
    }
    const attributes =
      (
        await sqs.send(
          new GetQueueAttributesCommand({
            QueueUrl: queueUrl,
            AttributeNames: ['QueueArn', 'Policy', 'MessageRetentionPeriod', 'ReceiveMessageWaitTimeSeconds'],
          }),
        )
      ).Attributes ?? {};
    const current: Record<string, string | undefined> = attributes;
    const queueArn = attributes.QueueArn;
    if (!queueArn) throw new Error('GetQueueAttributes returned no QueueArn');
    const policy = queuePolicyFor(queueArn, ruleArn);
    const wanted: Record<string, string> = {
      Policy: policy,
      MessageRetentionPeriod: retention,
      ReceiveMessageWaitTimeSeconds: String(RECEIVE_WAIT_SECONDS),
    };
    const stale = Object.fromEntries(Object.entries(wanted).filter(([k, v]) => current[k] !== v));
    if (Object.keys(stale).length > 0) {
      await sqs.send(new SetQueueAttributesCommand({ QueueUrl: queueUrl, Attributes: stale }));
    }
    actions.push({ action: queueExisted ? 'updated' : 'created', kind: 'queue', name, id: queueUrl });

    // 3. Target: one fixed id, so repeating this never adds a second target (a rule holds at most 5).
    const listed = await events.send(new ListTargetsByRuleCommand({ Rule: name }));
    const ours = (listed.Targets ?? []).find((t) => t.Id === TARGET_ID);
    if (ours?.Arn === queueArn) {
      actions.push({ action: 'unchanged', kind: 'target', name: TARGET_ID, id: queueArn });
    } else {
      const put = await events.send(
        new PutTargetsCommand({ Rule: name, Targets: [{ Id: TARGET_ID, Arn: queueArn }] }),
      );
      if ((put.FailedEntryCount ?? 0) > 0) {
        throw new Error(`PutTargets failed: ${JSON.stringify(put.FailedEntries)}`);
      }
      actions.push({ action: ours ? 'updated' : 'created', kind: 'target', name: TARGET_ID, id: queueArn });
    }

    for (const a of actions) logger.info({ ...a }, `${a.action} ${a.kind} ${a.name}`);
    const finalUrl = queueUrl;
    return {
      mode: 'per-instance',
      queueUrl: finalUrl,
      queueArn,
      name,
      ruleArn,
      actions,
      heartbeat: async () => {
        const beat = tags();
        await sqs.send(
          new TagQueueCommand({ QueueUrl: finalUrl, Tags: { [TAG_HEARTBEAT]: beat[TAG_HEARTBEAT]! } }),
        );
        await events.send(
          new TagResourceCommand({
            ResourceARN: ruleArn,
            Tags: [{ Key: TAG_HEARTBEAT, Value: beat[TAG_HEARTBEAT]! }],
          }),
        );
      },
      teardown: async () => {
        const removed = [
          ...(await deleteRuleAndTargets(events, name, ruleArn)),
          await deleteQueueByUrl(sqs, name, finalUrl),
        ];
        for (const a of removed) logger.info({ ...a }, `${a.action} ${a.kind} ${a.name}`);
        return removed;
      },
    };
  } catch (err) {
    throw new EcsIngressError(
      'ECS_INGRESS_PROVISIONING_FAILED',
      `could not provision queue ${name}: ${message(err)}`,
      {
        cause: err,
        retryable: true,
      },
    );
  }
}

/** Removes this daemon's target, rule and queue by name (for `teardown` without a live provision). */
export async function teardownInstanceQueue(
  options: TeardownInstanceQueueOptions,
): Promise<ProvisioningAction[]> {
  const logger = (options.logger ?? silentLogger).child({ component: 'provisioning' });
  const name = instanceResourceName(
    options.prefix ?? DEFAULT_PREFIX,
    options.clusterName ?? clusterNameOf(options.clusterArn),
    options.instanceId,
  );
  const actions = [
    ...(await deleteRuleAndTargets(await options.events(), name)),
    await deleteQueueByName(options.sqs, name),
  ];
  for (const a of actions) logger.info({ ...a }, `${a.action} ${a.kind} ${a.name}`);
  return actions;
}

/** Shared mode: the user's queue (one replica, or an SNS fan-out they built). Nothing is created or removed. */
export function useSharedQueue(queueUrl: string): QueueProvision {
  return {
    mode: 'shared',
    queueUrl,
    actions: [],
    heartbeat: async () => {},
    teardown: async () => [],
  };
}

/** One line per action, e.g. `created queue ecs-ingress-prod-abc https://…`. */
export function formatAction(action: ProvisioningAction): string {
  const parts: string[] = [action.action, action.kind, action.name];
  if (action.id !== undefined) parts.push(action.id);
  if (action.reason !== undefined) parts.push(`(${action.reason})`);
  return parts.join(' ');
}

async function ruleExists(events: EventBridgeClient, name: string): Promise<boolean> {
  const { DescribeRuleCommand } = await import('@aws-sdk/client-eventbridge');
  try {
    await events.send(new DescribeRuleCommand({ Name: name }));
    return true;
  } catch (err) {
    if (isRuleMissing(err)) return false;
    throw err;
  }
}

async function findQueueUrl(sqs: SQSClient, name: string): Promise<string | undefined> {
  try {
    return (await sqs.send(new GetQueueUrlCommand({ QueueName: name }))).QueueUrl;
  } catch (err) {
    if (isQueueMissing(err)) return undefined;
    throw err;
  }
}

function toEventBridgeTags(tags: Record<string, string>): { Key: string; Value: string }[] {
  return Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
}

function message(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

export {
  DEFAULT_PREFIX,
  instanceResourceName,
  TAG_CLUSTER,
  TAG_HEARTBEAT,
  TAG_INSTANCE,
} from './provisioning/names.js';
export type { ReapStaleOptions } from './provisioning/reaper.js';
export { reapStale } from './provisioning/reaper.js';
export type {
  ProvisionedKind,
  ProvisioningAction,
  ProvisioningClients,
  QueueProvision,
} from './provisioning/types.js';
