import { ensureInstanceQueue, formatAction, type ProvisioningAction } from '@ecs-ingress/sources';
import type { Command } from 'commander';
import { formatDurationMs } from '../../config/duration.js';
import { ConfigErrors, loadConfig } from '../../config/env.js';
import { withResolvedRegion } from '../../config/resolved-region.js';
import { createDaemonClients } from '../../daemon/aws.js';
import { createLogger } from '../../log/logger.js';
import { EXIT_USAGE, exitCodeFor } from '../exit-codes.js';
import {
  commandInstanceId,
  type ProvisioningCommandClients,
  parseDuration,
  reapIfAsked,
  resolveClusterArn,
} from './provisioning-support.js';

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

/** The flags as commander hands them over: unset ones fall back to the configuration. */
interface QueueCommandFlags {
  readonly cluster?: string;
  readonly instanceId?: string;
  readonly region?: string;
  readonly prefix?: string;
  readonly reap?: boolean;
  readonly maxAge?: string;
  readonly json?: boolean;
}

/**
 * Registers a command on this instance's queue and rule (`bootstrap`, `teardown`): the same flags,
 * and the same configuration as `run` (loadConfig: AWS_CLUSTER_NAME, ECS_INGRESS_QUEUE_PREFIX,
 * ECS_INGRESS_REAP_AFTER, the region and endpoints, the SDK's retries) for what a flag leaves
 * unset, so `teardown` after a `run` with a custom prefix removes what that daemon created.
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
    .option('--cluster <name|arn>', 'ECS cluster (default: AWS_CLUSTER_NAME, else "default")')
    .option(
      '--instance-id <id>',
      'container instance id or host id (default: env ECS_INGRESS_INSTANCE_ID, else on ECS the container instance from the ECS agent, else the host name)',
    )
    .option(
      '--region <region>',
      'AWS region (default: as for run: AWS_REGION, AWS_DEFAULT_REGION, the profile)',
    )
    .option(
      '--prefix <prefix>',
      'name prefix of queues and rules (default: ECS_INGRESS_QUEUE_PREFIX, else ecs-ingress-)',
    )
    .option('--reap', 'also delete stale queues and rules of this cluster', false)
    .option(
      '--max-age <duration>',
      'heartbeat age after which a queue and rule are stale, with --reap (default: ECS_INGRESS_REAP_AFTER, else 1h)',
    )
    .option('--json', 'print the result as JSON instead of one line per action', false)
    .action(async (flags: QueueCommandFlags) => {
      await runQueueCommand(name, flags, run);
    });
}

/**
 * Reads the configuration (exit 2 when invalid), builds the clients as `run` does, runs, reports a
 * failure on stderr (exit 2 for a wrong flag or configuration, 1 for a failure while running), and
 * always releases the clients.
 */
async function runQueueCommand(
  name: string,
  flags: QueueCommandFlags,
  run: (
    options: QueueCommandOptions,
    clients: ProvisioningCommandClients,
    write: WriteLine,
  ) => Promise<unknown>,
): Promise<void> {
  let config: Awaited<ReturnType<typeof withResolvedRegion<ReturnType<typeof loadConfig>>>>;
  try {
    const env = flags.region === undefined ? process.env : { ...process.env, AWS_REGION: flags.region };
    config = await withResolvedRegion(loadConfig(env));
  } catch (err) {
    if (!(err instanceof ConfigErrors)) throw err;
    process.stderr.write(`ecs-ingress ${name}: ${err.message}\n`);
    process.exitCode = EXIT_USAGE;
    return;
  }
  // Logs on stderr: stdout carries the result.
  const logger = createLogger({ level: config.logLevel, destination: 2 });
  const clients = createDaemonClients({ region: config.region, endpoints: config.endpoints, logger });
  try {
    const options: QueueCommandOptions = {
      cluster: flags.cluster ?? config.clusterName,
      instanceId: await commandInstanceId(flags.instanceId),
      region: config.region,
      prefix: flags.prefix ?? config.queue.prefix,
      maxAge: flags.maxAge ?? formatDurationMs(config.queue.reapAfterMs),
      ...(flags.reap === undefined ? {} : { reap: flags.reap }),
      ...(flags.json === undefined ? {} : { json: flags.json }),
    };
    await run(options, clients, (line) => process.stdout.write(`${line}\n`));
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`ecs-ingress ${name}: ${message}\n`);
    process.exitCode = exitCodeFor(err);
  } finally {
    clients.destroy();
  }
}
