/**
 * One DescribeServices call for route seniority (a service's ECS `createdAt`): the call, the
 * parse of each answer and the names ECS did not describe. The caching, single flight, bounds and
 * negative cache around it are the reference resolver's (ecs-references.ts), which asks only for
 * services whose labels publish routes and whose age the store lacks. The store keeps the answer
 * (`createdAt` never changes for a service), so nothing here caches it. Service names
 * (`[A-Za-z0-9_-]`) cannot be mistaken for ARNs (`arn:…`), so they share the resolver's keys.
 */
import { DescribeServicesCommand, type ECSClient, type Service } from '@aws-sdk/client-ecs';
import { type Logger, parseService, type ServiceView } from '@ecs-ingress/types';
import { awsCall } from './aws/aws-call-error.js';
import { type CallTally, logDescribeFailures } from './aws-batches.js';

/** DescribeServices takes at most 10 services per call. */
export const SERVICES_PER_CALL = 10;

export interface DescribedServices {
  /** Parsed answers, with the SDK object (for the recorder's observation line). */
  readonly described: readonly { readonly view: ServiceView; readonly raw: Service }[];
  /** Names answered with something that does not parse. */
  readonly unparsable: readonly { readonly name: string; readonly error: unknown }[];
  /** Names ECS did not describe (`failures` MISSING, or no answer at all). */
  readonly missing: readonly string[];
}

/**
 * Describes `names` (≤ 10) of `cluster`. AWS errors propagate as `AwsCallError` (throttling,
 * refusal, outage) for the caller to classify.
 */
export async function describeServices(
  ecs: ECSClient,
  cluster: string,
  names: readonly string[],
  tally: CallTally,
  logger: Logger,
): Promise<DescribedServices> {
  const out = await awsCall('ecs', 'DescribeServices', () => {
    tally.add('ecs', 'DescribeServices');
    return ecs.send(new DescribeServicesCommand({ cluster, services: [...names] }), tally.sendOptions);
  });
  logDescribeFailures(logger, 'DescribeServices', out.failures);
  const wanted = new Set(names);
  const answered = new Set<string>();
  const described: { view: ServiceView; raw: Service }[] = [];
  const unparsable: { name: string; error: unknown }[] = [];
  for (const raw of out.services ?? []) {
    const name = raw.serviceName;
    if (name === undefined || !wanted.has(name) || answered.has(name)) continue;
    answered.add(name);
    try {
      described.push({ view: parseService(raw), raw });
    } catch (error) {
      unparsable.push({ name, error });
    }
  }
  return { described, unparsable, missing: names.filter((name) => !answered.has(name)) };
}
