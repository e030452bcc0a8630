/**
 * ECS identifiers by their ARN grammar (the ECS developer guide, "Amazon Resource Names"):
 *
 *   arn:<partition>:ecs:<region>:<account>:<resource>
 *   partition  aws, aws-cn, aws-us-gov, aws-iso, aws-iso-b, …  (`aws` then `-<lowercase>` parts)
 *   region     us-east-1, us-gov-west-1, cn-north-1, …        (two letters, `-<word>` parts, `-<n>`)
 *   account    12 digits
 *   resource   cluster/<name>
 *              task/<cluster>/<id>            (the long format; `task/<id>` before Nov 2018)
 *              task-definition/<family>:<revision>
 *              container-instance/<cluster>/<id>   (`container-instance/<id>` before Nov 2018)
 *              service/<cluster>/<name>       (`service/<name>` before Nov 2018)
 *   <name>, <cluster>, <family>: 1..255 of [A-Za-z0-9_-] (ECS refuses anything else)
 *   <id>: 32 lowercase hex digits, or a legacy UUID (8-4-4-4-12 lowercase hex)
 *   <revision>: a positive integer
 *
 * Anything else is not an ECS identifier: an event naming one is refused before the store sees
 * it (`InvalidArnError`, code ECS_INGRESS_ARN_INVALID), whatever characters it holds.
 */
import { EventParseError } from '../errors.js';

/** The kinds of ECS ARN the sources read. */
export type EcsArnKind = 'cluster' | 'task' | 'task-definition' | 'container-instance' | 'service';

/** The parts of a valid ECS ARN. */
export interface EcsArn {
  readonly kind: EcsArnKind;
  readonly partition: string;
  readonly region: string;
  readonly account: string;
  /** Cluster name: of a cluster ARN, or of a long-format task / container instance ARN. */
  readonly cluster?: string;
  /** Task or container instance id. */
  readonly id?: string;
  /** Service name. */
  readonly service?: string;
  /** Task definition family. */
  readonly family?: string;
  /** Task definition revision. */
  readonly revision?: number;
}

/** An identifier that does not follow its ARN grammar. */
export class InvalidArnError extends EventParseError {
  readonly kind: EcsArnKind;

  constructor(kind: EcsArnKind, path: string, value: unknown) {
    const shown = typeof value === 'string' ? JSON.stringify(value.slice(0, 200)) : typeof value;
    super(`invalid-arn:${path || kind}`, `${path || kind}: not a ${kind} ARN: ${shown}`, {
      code: 'ECS_INGRESS_ARN_INVALID',
    });
    this.kind = kind;
  }
}

const PREFIX = 'arn:(aws(?:-[a-z]+)*):ecs:([a-z]{2}(?:-[a-z]+)+-[0-9]{1,2}):([0-9]{12}):';
const NAME = '[A-Za-z0-9_-]{1,255}';
const ID = '[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';

// `$` without the `m` flag matches only at the very end: a trailing newline is refused.
const GRAMMAR: Readonly<Record<EcsArnKind, RegExp>> = {
  cluster: new RegExp(`^${PREFIX}cluster/(${NAME})$`),
  task: new RegExp(`^${PREFIX}task/(?:(${NAME})/)?(${ID})$`),
  'task-definition': new RegExp(`^${PREFIX}task-definition/(${NAME}):([1-9][0-9]{0,9})$`),
  'container-instance': new RegExp(`^${PREFIX}container-instance/(?:(${NAME})/)?(${ID})$`),
  service: new RegExp(`^${PREFIX}service/(?:(${NAME})/)?(${NAME})$`),
};

/** Parses `value` as an ECS ARN of `kind`, or returns `undefined`. */
export function parseEcsArn(value: unknown, kind: EcsArnKind): EcsArn | undefined {
  if (typeof value !== 'string' || value.length > 1600) return undefined;
  const m = GRAMMAR[kind].exec(value);
  if (m === null) return undefined;
  const [, partition, region, account, a, b] = m as unknown as [
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  const base = { kind, partition, region, account };
  switch (kind) {
    case 'cluster':
      return { ...base, cluster: a };
    case 'task-definition':
      return { ...base, family: a, revision: Number(b) };
    case 'service':
      return a === undefined ? { ...base, service: b } : { ...base, cluster: a, service: b };
    default:
      return a === undefined ? { ...base, id: b } : { ...base, cluster: a, id: b };
  }
}

/** True when `value` is an ECS ARN of `kind`. */
export function isEcsArn(value: unknown, kind: EcsArnKind): value is string {
  return typeof value === 'string' && value.length <= 1600 && GRAMMAR[kind].test(value);
}

/**
 * ARNs every observation repeats (cluster, task definition, container instance) that passed
 * already: one Set lookup instead of a regex per event. Bounded: cleared when full.
 */
const validShared: Readonly<Record<EcsArnKind, Set<string>>> = {
  cluster: new Set(),
  task: new Set(),
  'task-definition': new Set(),
  'container-instance': new Set(),
  service: new Set(),
};
const SHARED_LIMIT = 4_096;

/**
 * Returns `value` when it is an ECS ARN of `kind`.
 * @param path where the value sits in the message (`detail.taskArn`), for the error's reason
 * @throws InvalidArnError (code ECS_INGRESS_ARN_INVALID, reason `invalid-arn:<path>`)
 */
export function requireEcsArn(value: unknown, kind: EcsArnKind, path: string): string {
  // Task ARNs are unique per task: caching them would only churn the set.
  const shared = kind === 'task' ? undefined : validShared[kind];
  if (shared !== undefined && typeof value === 'string' && shared.has(value)) return value;
  if (!isEcsArn(value, kind)) throw new InvalidArnError(kind, path, value);
  if (shared !== undefined) {
    if (shared.size >= SHARED_LIMIT) shared.clear();
    shared.add(value);
  }
  return value;
}

const SERVICE_NAME = new RegExp(`^${NAME}$`);

/** True for a name ECS accepts for a service, cluster or family: 1..255 of [A-Za-z0-9_-]. */
export function isEcsName(value: unknown): boolean {
  return typeof value === 'string' && SERVICE_NAME.test(value);
}
