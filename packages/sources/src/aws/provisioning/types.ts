import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { Logger } from '@ecs-ingress/types';
import type { LazyClient } from '../lazy-client.js';

/** The clients provisioning needs, constructed by the caller (endpoints, metrics middleware, …). */
export interface ProvisioningClients {
  readonly sqs: SQSClient;
  /** Built (`@aws-sdk/client-eventbridge` loaded) at the first call that needs it. */
  readonly events: LazyClient<EventBridgeClient>;
  readonly logger?: Logger;
}

export type ProvisionedKind = 'queue' | 'rule' | 'target';

/**
 * One thing provisioning did, for the log and the CLI output:
 * - `created` / `updated` (existed; attributes, policy or tags refreshed) / `unchanged`
 * - `deleted`, or `absent` when there was nothing to delete
 * - `failed`, with `reason` (the reaper goes on with the next resource)
 */
export interface ProvisioningAction {
  readonly action: 'created' | 'updated' | 'unchanged' | 'deleted' | 'absent' | 'failed';
  readonly kind: ProvisionedKind;
  /** Queue or rule name; for a target, its id. */
  readonly name: string;
  /** Queue URL, rule ARN, or the target's ARN (the queue), when known. */
  readonly id?: string;
  readonly reason?: string;
}

/** The queue a daemon consumes, and how to keep it alive and remove it. */
export interface QueueProvision {
  /** `per-instance`: created by us, removed at shutdown. `shared`: the user's, never touched. */
  readonly mode: 'per-instance' | 'shared';
  readonly queueUrl: string;
  readonly queueArn?: string;
  /** Name shared by the queue and the rule (per-instance only). */
  readonly name?: string;
  readonly ruleArn?: string;
  /** What `ensureInstanceQueue` did (empty in shared mode). */
  readonly actions: readonly ProvisioningAction[];
  /** Refreshes the heartbeat tag on the queue and the rule (no-op in shared mode). */
  heartbeat(): Promise<void>;
  /** Removes target, rule and queue (no-op in shared mode); every step tolerates already-gone. */
  teardown(): Promise<ProvisioningAction[]>;
}
