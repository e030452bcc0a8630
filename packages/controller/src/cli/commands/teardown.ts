import { formatAction, type ProvisioningAction, teardownInstanceQueue } from '@ecs-ingress/sources';
import type { Command } from 'commander';
import { type QueueCommandOptions, registerQueueCommand, type WriteLine } from './bootstrap.js';
import {
  type ProvisioningCommandClients,
  parseDuration,
  reapIfAsked,
  resolveClusterArn,
} from './provisioning-support.js';

/** Flags of `ecs-ingress teardown`. */
export type TeardownOptions = QueueCommandOptions;

export interface TeardownResult {
  readonly clusterArn: string;
  readonly instanceId: string;
  readonly actions: readonly ProvisioningAction[];
  readonly reaped: readonly ProvisioningAction[];
}

/** `teardown`: remove this instance's target, rule and queue (+ stale ones with `--reap`), and print what went. */
export async function runTeardown(
  options: TeardownOptions,
  clients: ProvisioningCommandClients,
  write: WriteLine,
): Promise<TeardownResult> {
  // Flags are checked before anything is created or removed.
  if (options.reap) parseDuration(options.maxAge, '--max-age');
  const clusterArn = await resolveClusterArn(clients.ecs, options.cluster);
  const actions = await teardownInstanceQueue({
    sqs: clients.sqs,
    events: clients.events,
    clusterArn,
    instanceId: options.instanceId,
    prefix: options.prefix,
  });
  const reaped = await reapIfAsked(clients, options, clusterArn);
  const result: TeardownResult = { clusterArn, instanceId: options.instanceId, actions, reaped };
  if (options.json) write(JSON.stringify(result, null, 2));
  else for (const action of [...actions, ...reaped]) write(formatAction(action));
  return result;
}

export function registerTeardown(program: Command): void {
  registerQueueCommand(
    program,
    'teardown',
    "Delete this instance's EventBridge rule (and its targets) and SQS queue, and print what was removed.",
    runTeardown,
  );
}
