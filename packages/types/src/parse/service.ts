/**
 * A DescribeServices `Service` (SDK object, or its JSON as a recording holds it) → `ServiceView`:
 * the service's identity and its `createdAt`, which decides route seniority (the older service
 * wins a conflict). Everything else in the answer is ignored.
 */
import { z } from 'zod';
import type { ServiceView } from '../domain.js';
import { EventParseError } from '../errors.js';
import { isEcsName, requireEcsArn } from './arn.js';
import { requireRecord, schemaError } from './schema-error.js';
import { readTimestamp } from './timestamps.js';

const serviceSchema = z.object({
  serviceArn: z.string().min(1),
  serviceName: z.string().min(1),
  clusterArn: z.string().min(1),
  createdAt: z.unknown(),
});

/**
 * @param path where the object sits (`detail`), for error reasons
 * @throws EventParseError (`missing-field:…`, `invalid-arn:…`, `bad-timestamp:…`, `not-an-object`)
 */
export function parseServiceAt(obj: unknown, path: string): ServiceView {
  requireRecord(obj, path, 'service');
  const parsed = serviceSchema.safeParse(obj);
  if (!parsed.success) throw schemaError(parsed.error, obj, path, 'service');
  const s = parsed.data;
  const at = (name: string) => (path === '' ? name : `${path}.${name}`);
  requireEcsArn(s.serviceArn, 'service', at('serviceArn'));
  requireEcsArn(s.clusterArn, 'cluster', at('clusterArn'));
  if (!isEcsName(s.serviceName)) {
    throw new EventParseError(
      `invalid-field:${at('serviceName')}`,
      `${at('serviceName')}: not an ECS service name`,
    );
  }
  const createdAt = readTimestamp(s.createdAt, path, 'createdAt');
  if (createdAt === undefined) {
    throw new EventParseError(`missing-field:${at('createdAt')}`, `service: ${at('createdAt')} is missing`);
  }
  return { serviceArn: s.serviceArn, clusterArn: s.clusterArn, serviceName: s.serviceName, createdAt };
}

/** As `parseServiceAt` at the top level. */
export function parseService(obj: unknown): ServiceView {
  return parseServiceAt(obj, '');
}
