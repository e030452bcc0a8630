/**
 * Which container instance this daemon runs on (issue 4: the per-instance queue and rule are
 * "tagged with the cluster and the container instance"). In order:
 *  1. ECS_INGRESS_INSTANCE_ID, when set;
 *  2. on ECS, the ECS agent's introspection endpoint (`GET /v1/metadata` on port 51678, reachable
 *     at 127.0.0.1 because the daemon runs with host networking on the EC2 launch type), which
 *     answers `{ Cluster, ContainerInstanceArn, Version }`;
 *  3. the host name.
 * The agent is asked only when ECS_CONTAINER_METADATA_URI_V4 (set by ECS in every task) or
 * ECS_INGRESS_AGENT_URL is set, so a daemon on a laptop never waits for a port nobody listens on.
 *
 * The resolved id is the full container instance ARN: the queue and rule names use its last path
 * segment (`shortInstanceId`), the `ecs-ingress:instance` tag keeps the whole ARN.
 */
import { hostname } from 'node:os';
import { type Logger, silentLogger } from '@ecs-ingress/types';

/** The agent's introspection API listens on 51678 on the instance (ECS agent docs, "Container introspection"). */
export const DEFAULT_AGENT_URL = 'http://127.0.0.1:51678';
/** A local agent answers in milliseconds; one second bounds the start-up delay when it is not there. */
export const AGENT_TIMEOUT_MS = 1000;

/** What to try, read from the environment without I/O (config loading is synchronous). */
export interface InstanceIdPlan {
  /** Used when the agent is not asked or does not answer: ECS_INGRESS_INSTANCE_ID, else the host name. */
  readonly fallback: string;
  /** The agent's base URL; set only when ECS_INGRESS_INSTANCE_ID is unset and the daemon runs on ECS. */
  readonly agentUrl?: string;
}

export interface InstanceIdentity {
  /** A container instance ARN (from the agent), or the configured id / host name. */
  readonly id: string;
  readonly source: 'ecs-agent' | 'configured';
  /** The agent's `Cluster` (name or ARN), when the agent answered. */
  readonly cluster?: string;
}

export interface ResolveInstanceIdOptions {
  readonly timeoutMs?: number;
  readonly logger?: Logger;
}

/** The plan for `env`: which id to fall back on, and whether to ask the agent. */
export function planInstanceId(
  env: Readonly<Record<string, string | undefined>>,
  host: string = hostname(),
): InstanceIdPlan {
  const explicit = env.ECS_INGRESS_INSTANCE_ID?.trim();
  if (explicit) return { fallback: explicit };
  const agentUrl = env.ECS_INGRESS_AGENT_URL?.trim();
  if (agentUrl) return { fallback: host, agentUrl };
  return env.ECS_CONTAINER_METADATA_URI_V4?.trim()
    ? { fallback: host, agentUrl: DEFAULT_AGENT_URL }
    : { fallback: host };
}

/** Follows `plan`: the agent's container instance ARN when asked and it answers, else `plan.fallback`. Never throws. */
export async function resolveInstanceId(
  plan: InstanceIdPlan,
  options: ResolveInstanceIdOptions = {},
): Promise<InstanceIdentity> {
  if (plan.agentUrl === undefined) return { id: plan.fallback, source: 'configured' };
  const logger = (options.logger ?? silentLogger).child({ component: 'instance-identity' });
  try {
    const metadata = await fetchAgentMetadata(plan.agentUrl, options.timeoutMs ?? AGENT_TIMEOUT_MS);
    logger.info(
      { containerInstanceArn: metadata.containerInstanceArn, agentVersion: metadata.version },
      'container instance identified by the ECS agent',
    );
    return {
      id: metadata.containerInstanceArn,
      source: 'ecs-agent',
      ...(metadata.cluster === undefined ? {} : { cluster: metadata.cluster }),
    };
  } catch (err) {
    logger.warn(
      { err, agentUrl: plan.agentUrl, fallback: plan.fallback },
      'ECS agent introspection failed; identifying this daemon by the host name',
    );
    return { id: plan.fallback, source: 'configured' };
  }
}

export interface AgentMetadata {
  readonly containerInstanceArn: string;
  readonly cluster?: string;
  readonly version?: string;
}

/** `GET <agentUrl>/v1/metadata`, bounded by `timeoutMs`. @throws on a non-2xx answer, a bad body or the timeout. */
export async function fetchAgentMetadata(agentUrl: string, timeoutMs: number): Promise<AgentMetadata> {
  const url = new URL('v1/metadata', agentUrl.endsWith('/') ? agentUrl : `${agentUrl}/`);
  const signal = AbortSignal.timeout(timeoutMs);
  const response = await fetch(url, { signal, headers: { accept: 'application/json' } });
  // The body read is covered by the same signal, so a server that stalls mid-body times out too.
  const text = await response.text();
  if (!response.ok) throw new Error(`${url.href} answered ${response.status}`);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`${url.href} answered a body that is not JSON`);
  }
  const record = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const arn = record.ContainerInstanceArn;
  // `arn:aws:ecs:<region>:<account>:container-instance/[<cluster>/]<id>`; anything else is not ours to trust.
  if (
    typeof arn !== 'string' ||
    !/^arn:[^:]+:ecs:[^:]*:[^:]*:container-instance\/(?:.+\/)?[^/]+$/.test(arn)
  ) {
    throw new Error(`${url.href} answered no container instance ARN (got ${JSON.stringify(arn)})`);
  }
  return {
    containerInstanceArn: arn,
    ...(typeof record.Cluster === 'string' ? { cluster: record.Cluster } : {}),
    ...(typeof record.Version === 'string' ? { version: record.Version } : {}),
  };
}
