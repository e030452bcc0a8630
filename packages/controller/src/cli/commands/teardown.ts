import type { Command } from 'commander';
import {
  commandInstanceId,
  defaultCluster,
  type ProvisioningCommandClients,
  parseDuration,
  reapIfAsked,
  resolveClusterArn,
} from '../../aws/provisioning/command-support.js';
import { DEFAULT_PREFIX } from '../../aws/provisioning/names.js';
import { formatAction, type ProvisioningAction, teardownInstanceQueue } from '../../aws/provisioning.js';
import { runQueueCommand, type WriteLine } from './bootstrap.js';

/** Flags of `ecs-ingress teardown`. */
export interface TeardownOptions {
  readonly cluster: string;
  readonly instanceId: string;
  readonly region?: string;
  readonly prefix: string;
  readonly reap?: boolean;
  readonly maxAge: string;
  readonly json?: boolean;
}

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
  program
    .command('teardown')
    .description(
      "Delete this instance's EventBridge rule (and its targets) and SQS queue, and print what was removed.",
    )
    .option('--cluster <name|arn>', 'ECS cluster (env AWS_CLUSTER_NAME)', defaultCluster())
    .option(
      '--instance-id <id>',
      'container instance id or host id (default: env ECS_INGRESS_INSTANCE_ID, else on ECS the container instance from the ECS agent, else the host name)',
    )
    .option('--region <region>', 'AWS region (env AWS_REGION)')
    .option('--prefix <prefix>', 'name prefix of queues and rules', DEFAULT_PREFIX)
    .option('--reap', 'also delete stale queues and rules of this cluster', false)
    .option(
      '--max-age <duration>',
      'heartbeat age after which a queue and rule are stale (with --reap)',
      '1h',
    )
    .option('--json', 'print the result as JSON instead of one line per action', false)
    .action(async (options: Omit<TeardownOptions, 'instanceId'> & { instanceId?: string }) => {
      await runQueueCommand('teardown', options.region, async (clients) =>
        runTeardown(
          { ...options, instanceId: await commandInstanceId(options.instanceId) },
          clients,
          (line) => process.stdout.write(`${line}\n`),
        ),
      );
    });
}
