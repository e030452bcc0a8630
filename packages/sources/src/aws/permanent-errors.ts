/**
 * AWS failures that retrying cannot fix: no credentials, credentials AWS does not accept, a cluster
 * that does not exist (in this region, for this account), a task role that may not make the call.
 * The daemon keeps retrying them slowly (a fixed policy or a created cluster heals without a
 * restart), but says so once at `error` with what to check, in /readyz and in a metric, instead of
 * a `warn` per retry.
 */
import { awsErrorName } from './instrument.js';

/** The `reason` label and /readyz reason of a permanent AWS problem. */
export type AwsProblemReason =
  | 'no-credentials'
  | 'invalid-credentials'
  | 'cluster-not-found'
  | 'access-denied';

export const AWS_PROBLEM_REASONS: readonly AwsProblemReason[] = [
  'no-credentials',
  'invalid-credentials',
  'cluster-not-found',
  'access-denied',
];

/** One classified problem: a stable code, a short reason and what the operator should check. */
export interface AwsProblem {
  readonly reason: AwsProblemReason;
  /** `ECS_INGRESS_AWS_NO_CREDENTIALS`, … */
  readonly code: string;
  /** What failed, in one line (the SDK's message once, not repeated by a wrapper). */
  readonly message: string;
  /** What to check. */
  readonly hint: string;
}

const TASK_ROLE_POLICY = 'deploy/ecs/iam-task-role-policy.json';

const CODES: Readonly<Record<AwsProblemReason, string>> = {
  'no-credentials': 'ECS_INGRESS_AWS_NO_CREDENTIALS',
  'invalid-credentials': 'ECS_INGRESS_AWS_INVALID_CREDENTIALS',
  'cluster-not-found': 'ECS_INGRESS_CLUSTER_NOT_FOUND',
  'access-denied': 'ECS_INGRESS_AWS_ACCESS_DENIED',
};

const HINTS: Readonly<Record<AwsProblemReason, string>> = {
  'no-credentials':
    'no AWS credentials were found: on ECS give the task definition a taskRoleArn; elsewhere set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY',
  'invalid-credentials':
    'AWS rejected the credentials (unknown key, bad signature or expired token): check the task role (taskRoleArn), AWS_PROFILE or AWS_ACCESS_KEY_ID, and that AWS_REGION is a region the account uses',
  'cluster-not-found':
    'check AWS_CLUSTER_NAME (the cluster name or ARN) and AWS_REGION (the cluster\u2019s region); the credentials must belong to the cluster\u2019s account',
  'access-denied': `the task role may not make this call: compare its policy with ${TASK_ROLE_POLICY} (AWS_CLUSTER_NAME and AWS_REGION in its ARNs must match the daemon\u2019s)`,
};

/** Error names (SDK `name`) by the problem they mean. */
const NAMES: ReadonlyMap<string, AwsProblemReason> = new Map<string, AwsProblemReason>([
  ['CredentialsProviderError', 'no-credentials'],
  ['UnrecognizedClientException', 'invalid-credentials'],
  ['InvalidClientTokenId', 'invalid-credentials'],
  ['AuthFailure', 'invalid-credentials'],
  ['SignatureDoesNotMatch', 'invalid-credentials'],
  ['InvalidSignatureException', 'invalid-credentials'],
  ['IncompleteSignature', 'invalid-credentials'],
  ['MissingAuthenticationToken', 'invalid-credentials'],
  ['ExpiredToken', 'invalid-credentials'],
  ['ExpiredTokenException', 'invalid-credentials'],
  ['InvalidAccessKeyId', 'invalid-credentials'],
  ['ClusterNotFoundException', 'cluster-not-found'],
  ['AccessDenied', 'access-denied'],
  ['AccessDeniedException', 'access-denied'],
  ['UnauthorizedOperation', 'access-denied'],
  ['AWS.SimpleQueueService.AccessDenied', 'access-denied'],
]);

/** The permanent problem behind `err` (followed through `cause`), or undefined for anything else. */
export function classifyAwsProblem(err: unknown): AwsProblem | undefined {
  for (let e: unknown = err, depth = 0; e !== undefined && e !== null && depth < 5; depth++) {
    // The poller's own ClusterNotFoundError (DescribeClusters answered without the cluster).
    const ours = (e as { code?: unknown }).code === CODES['cluster-not-found'];
    const reason = ours ? 'cluster-not-found' : NAMES.get(awsErrorName(e));
    if (reason !== undefined) {
      return { reason, code: CODES[reason], message: rootMessage(err), hint: HINTS[reason] };
    }
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** The innermost message of a cause chain: the SDK's own words, once. */
function rootMessage(err: unknown): string {
  let e = err;
  for (let depth = 0; depth < 5; depth++) {
    const cause = (e as { cause?: unknown } | null)?.cause;
    if (cause === undefined || cause === null) break;
    e = cause;
  }
  const outer = err instanceof Error ? err.message : String(err);
  if (e === err) return outer;
  const inner = e instanceof Error ? e.message : String(e);
  // `ecs:ListTasks failed (AccessDeniedException): <inner>` → keep the operation, drop the repeat.
  return outer.endsWith(inner) ? outer : `${outer}: ${inner}`;
}
