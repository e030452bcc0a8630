/**
 * What `bootstrap` and `teardown` share: the instance id, the cluster ARN lookup, flag parsing.
 * Their clients and defaults are `run`'s (cli/commands/bootstrap.ts: loadConfig, createDaemonClients).
 */
import { DescribeClustersCommand, type ECSClient } from '@aws-sdk/client-ecs';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { SQSClient } from '@aws-sdk/client-sqs';
import {
  type LazyClient,
  type ProvisioningAction,
  planInstanceId,
  reapStale,
  resolveInstanceId,
} from '@ecs-ingress/sources';
import { ConfigError } from '@ecs-ingress/types';
import { parseDurationMs } from '../../config/duration.js';

export interface ProvisioningCommandClients {
  readonly sqs: SQSClient;
  readonly events: LazyClient<EventBridgeClient>;
  readonly ecs: ECSClient;
}

/**
 * `--instance-id`, else ECS_INGRESS_INSTANCE_ID, else on ECS the container instance ARN from the
 * ECS agent, else the host name (sources: aws/instance-identity.ts): the same id the daemon would use, so
 * `teardown` on an instance removes what its daemon created.
 */
export async function commandInstanceId(
  flag: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): Promise<string> {
  if (flag) return flag;
  return (await resolveInstanceId(planInstanceId(env))).id;
}

/** A cluster name or ARN → its ARN (DescribeClusters for a name; an ARN is taken as it is). */
export async function resolveClusterArn(ecs: ECSClient, cluster: string): Promise<string> {
  if (cluster.startsWith('arn:')) return cluster;
  const answer = await ecs.send(new DescribeClustersCommand({ clusters: [cluster] }));
  const arn = answer.clusters?.find(
    (c) => c.clusterName === cluster || c.clusterArn?.endsWith(`/${cluster}`),
  )?.clusterArn;
  if (!arn) throw new ConfigError('--cluster', `ECS cluster ${JSON.stringify(cluster)} not found`);
  return arn;
}

/** A flag's duration in the grammar of the configuration variables (`90s`, `15m`, `2h`, or plain ms). */
export function parseDuration(text: string, flag: string): number {
  const ms = parseDurationMs(text);
  if (ms === undefined)
    throw new ConfigError(flag, `expected a duration like 90s, 15m or 2h, got ${JSON.stringify(text)}`);
  if (ms <= 0) throw new ConfigError(flag, 'must be greater than zero');
  return ms;
}

/** `--reap`: this cluster's stale queues and rules (never this instance's own); nothing without the flag. */
export async function reapIfAsked(
  clients: ProvisioningCommandClients,
  options: {
    readonly reap?: boolean;
    readonly maxAge: string;
    readonly prefix: string;
    readonly instanceId: string;
  },
  clusterArn: string,
): Promise<ProvisioningAction[]> {
  if (!options.reap) return [];
  return reapStale({
    sqs: clients.sqs,
    events: clients.events,
    clusterArn,
    prefix: options.prefix,
    maxAgeMs: parseDuration(options.maxAge, '--max-age'),
    ownInstanceId: options.instanceId,
  });
}
