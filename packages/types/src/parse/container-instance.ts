/**
 * Our own `{containerInstanceArn, ec2InstanceId, privateIpAddress}` shape (what the poller and the
 * recorder learn from DescribeContainerInstances + EC2 DescribeInstances) → `ContainerInstanceView`.
 * A DescribeContainerInstances `ContainerInstance` object parses too (it has the first two fields);
 * it simply yields no IP.
 */
import { z } from 'zod';
import type { ContainerInstanceView } from '../domain.js';
import { requireEcsArn } from './arn.js';
import { requireRecord, schemaError } from './schema-error.js';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

const containerInstanceSchema = z.object({
  containerInstanceArn: z.string().min(1),
  ec2InstanceId: z.string().nullish(),
  // Not checked as an IP here: the derivation rejects invalid addresses and counts them.
  privateIpAddress: z.string().nullish(),
});

/** @throws EventParseError (`missing-field:containerInstanceArn`, `invalid-field:…`, `not-an-object`) */
export function parseContainerInstance(obj: unknown): ContainerInstanceView {
  return parseContainerInstanceAt(obj, '');
}

/** As `parseContainerInstance`, with error paths prefixed by `path` (e.g. `detail`). */
export function parseContainerInstanceAt(obj: unknown, path: string): ContainerInstanceView {
  requireRecord(obj, path, 'container instance');
  const parsed = containerInstanceSchema.safeParse(obj);
  if (!parsed.success) throw schemaError(parsed.error, obj, path, 'container instance');
  const ci = parsed.data;
  requireEcsArn(
    ci.containerInstanceArn,
    'container-instance',
    path === '' ? 'containerInstanceArn' : `${path}.containerInstanceArn`,
  );
  const view: Mutable<ContainerInstanceView> = { containerInstanceArn: ci.containerInstanceArn };
  const ec2InstanceId = ci.ec2InstanceId?.trim();
  if (ec2InstanceId) view.ec2InstanceId = ec2InstanceId;
  const privateIpAddress = ci.privateIpAddress?.trim();
  if (privateIpAddress) view.privateIpAddress = privateIpAddress;
  return view;
}
