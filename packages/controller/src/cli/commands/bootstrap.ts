import type { Command } from 'commander';
import {
  commandInstanceId,
  createCommandClients,
  defaultCluster,
  destroyCommandClients,
  type ProvisioningCommandClients,
  parseDuration,
  reapIfAsked,
  resolveClusterArn,
} from '../../aws/provisioning/command-support.js';
import { DEFAULT_PREFIX } from '../../aws/provisioning/names.js';
import { ensureInstanceQueue, formatAction, type ProvisioningAction } from '../../aws/provisioning.js';
import { exitCodeFor } from '../exit-codes.js';

/** Flags of `ecs-ingress bootstrap` and `teardown`, as commander hands them over. */
export interface QueueCommandOptions {
  readonly cluster: string;
  readonly instanceId: string;
  readonly region?: string;
  readonly prefix: string;
  readonly reap?: boolean;
  readonly maxAge: string;
  readonly json?: boolean;
}

/** Flags of `ecs-ingress bootstrap`. */
export type BootstrapOptions = QueueCommandOptions;

export interface BootstrapResult {
  readonly clusterArn: string;
  readonly instanceId: string;
  readonly queueUrl: string;
  readonly queueArn?: string;
  readonly ruleArn?: string;
  readonly actions: readonly ProvisioningAction[];
  /** What `--reap` removed (empty without it). */
  readonly reaped: readonly ProvisioningAction[];
}

/** Where the command writes: one call per line (stdout in the CLI, an array in tests). */
export type WriteLine = (line: string) => void;

/** `bootstrap`: ensure this instance's queue + rule (+ reap stale ones with `--reap`), and print what changed. */
export async function runBootstrap(
  options: BootstrapOptions,
  clients: ProvisioningCommandClients,
  write: WriteLine,
): Promise<BootstrapResult> {
  // Flags are checked before anything is created or removed.
  if (options.reap) parseDuration(options.maxAge, '--max-age');
  const clusterArn = await resolveClusterArn(clients.ecs, options.cluster);
  const provision = await ensureInstanceQueue({
    sqs: clients.sqs,
    events: clients.events,
    clusterArn,
    instanceId: options.instanceId,
    prefix: options.prefix,
  });
  const reaped = await reapIfAsked(clients, options, clusterArn);
  const result: BootstrapResult = {
    clusterArn,
    instanceId: options.instanceId,
    queueUrl: provision.queueUrl,
    ...(provision.queueArn === undefined ? {} : { queueArn: provision.queueArn }),
    ...(provision.ruleArn === undefined ? {} : { ruleArn: provision.ruleArn }),
    actions: provision.actions,
    reaped,
  };
  if (options.json) {
    write(JSON.stringify(result, null, 2));
  } else {
    for (const action of [...provision.actions, ...reaped]) write(formatAction(action));
    write(`queue-url ${provision.queueUrl}`);
  }
  return result;
}

export function registerBootstrap(program: Command): void {
  registerQueueCommand(
    program,
    'bootstrap',
    "Create (idempotently) this instance's SQS queue and the EventBridge rule that feeds it the cluster's ECS events, and print what was created.",
    runBootstrap,
  );
}

/**
 * Registers a command on this instance's queue and rule (`bootstrap`, `teardown`): the same flags,
 * the instance id resolved as the daemon does, clients built and released by `runQueueCommand`.
 */
export function registerQueueCommand(
  program: Command,
  name: string,
  description: string,
  run: (
    options: QueueCommandOptions,
    clients: ProvisioningCommandClients,
    write: WriteLine,
  ) => Promise<unknown>,
): void {
  program
    .command(name)
    .description(description)
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
    .action(async (options: Omit<QueueCommandOptions, 'instanceId'> & { instanceId?: string }) => {
      await runQueueCommand(name, options.region, async (clients) =>
        run({ ...options, instanceId: await commandInstanceId(options.instanceId) }, clients, (line) =>
          process.stdout.write(`${line}\n`),
        ),
      );
    });
}

/**
 * Builds clients, runs, reports a failure on stderr (exit 2 for a wrong flag or configuration, 1
 * for a failure while running), and always releases the clients.
 */
async function runQueueCommand(
  name: string,
  region: string | undefined,
  body: (clients: ProvisioningCommandClients) => Promise<unknown>,
): Promise<void> {
  const clients = createCommandClients(region);
  try {
    await body(clients);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`ecs-ingress ${name}: ${message}\n`);
    process.exitCode = exitCodeFor(err);
  } finally {
    destroyCommandClients(clients);
  }
}
