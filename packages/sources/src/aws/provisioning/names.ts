/**
 * Names and tags of the per-daemon queue and rule. The queue and the rule share one name, so a
 * human can pair them in the console, and the reaper finds both by the same prefix.
 */
import { createHash } from 'node:crypto';
import { ConfigError } from '@ecs-ingress/types';

/** Default prefix of every queue and rule ecs-ingress creates. */
export const DEFAULT_PREFIX = 'ecs-ingress-';

/**
 * EventBridge rule names are at most 64 characters of `[.\-_A-Za-z0-9]`; SQS queue names at most 80
 * of `[A-Za-z0-9_-]`. One name for both must obey the stricter of each: ≤ 64, `[A-Za-z0-9_-]`.
 */
export const MAX_NAME_LENGTH = 64;
/** Long enough that two daemons of one cluster never collide by accident (40 bits). */
const HASH_LENGTH = 10;
/** Leaves room for a cluster name and the hash under the 64-character limit. */
const MAX_PREFIX_LENGTH = 32;

export const TAG_CLUSTER = 'ecs-ingress:cluster';
export const TAG_INSTANCE = 'ecs-ingress:instance';
export const TAG_HEARTBEAT = 'ecs-ingress:heartbeat';

/** The id of our one target on the rule (EventBridge target ids: ≤ 64 of `[.\-_A-Za-z0-9]`). */
export const TARGET_ID = 'ecs-ingress-queue';

/** @throws ConfigError when the prefix is empty, too long or holds characters SQS/EventBridge refuse. */
export function assertPrefix(prefix: string): void {
  if (!/^[A-Za-z0-9_-]+$/.test(prefix) || prefix.length > MAX_PREFIX_LENGTH) {
    throw new ConfigError(
      'prefix',
      `must be 1..${MAX_PREFIX_LENGTH} characters of A-Z a-z 0-9 _ - (got ${JSON.stringify(prefix)})`,
    );
  }
}

/** A container instance ARN → its id (`…:container-instance/<cluster>/<id>` → `<id>`); anything else unchanged. */
export function shortInstanceId(instanceId: string): string {
  if (!instanceId.startsWith('arn:')) return instanceId;
  const slash = instanceId.lastIndexOf('/');
  return slash === -1 ? instanceId : instanceId.slice(slash + 1);
}

/**
 * `<prefix><cluster>-<instance>`, characters outside `[A-Za-z0-9_-]` replaced by `-`. When that is
 * longer than 64, it is cut and ends in a hash of the full cluster name and instance id, so two
 * long names that share a beginning still differ.
 */
export function instanceResourceName(prefix: string, clusterName: string, instanceId: string): string {
  assertPrefix(prefix);
  const instance = shortInstanceId(instanceId);
  const full = `${prefix}${sanitize(clusterName)}-${sanitize(instance)}`;
  if (full.length <= MAX_NAME_LENGTH) return full;
  const hash = createHash('sha256').update(`${clusterName}\n${instance}`).digest('hex').slice(0, HASH_LENGTH);
  return `${full.slice(0, MAX_NAME_LENGTH - HASH_LENGTH - 1)}-${hash}`;
}

function sanitize(part: string): string {
  return part.replace(/[^A-Za-z0-9_-]/g, '-');
}
