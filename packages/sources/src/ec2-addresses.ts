/** EC2 instance id → primary private IP, for bridge and host tasks (their container instance's address). */
import type { EC2Client } from '@aws-sdk/client-ec2';
import { AwsCallError, awsCall } from './aws/aws-call-error.js';
import type { LazyClient } from './aws/lazy-client.js';
import { type CallTally, chunks } from './aws-batches.js';

/**
 * EC2 DescribeInstances has no documented cap on `InstanceIds`, but every id is a form field of
 * the query-protocol request; 100 keeps requests small and matches the ECS batches.
 */
const INSTANCES_PER_CALL = 100;

/**
 * The private IPs of `ids`, 100 a call; an id EC2 does not know is left out. The EC2 client (and
 * `@aws-sdk/client-ec2`) is loaded at the first call, so a process that never needs it never pays for it.
 * @throws AwsCallError for any other failure, loading the client included
 */
export async function describeInstanceIps(
  ec2: LazyClient<EC2Client>,
  ids: readonly string[],
  tally: CallTally,
): Promise<Map<string, string>> {
  const ips = new Map<string, string>();
  for (const batch of chunks(ids, INSTANCES_PER_CALL)) {
    try {
      await describeInstanceBatch(ec2, batch, ips, tally);
    } catch (err) {
      // EC2 fails the whole call when any id is unknown (InvalidInstanceID.NotFound), e.g. an
      // instance terminated long ago whose container instance is still registered. Ask one by
      // one so the others still resolve; this path is rare and bounded by the batch size.
      if (!isUnknownInstance(err)) throw err;
      if (batch.length === 1) continue;
      for (const id of batch) {
        try {
          await describeInstanceBatch(ec2, [id], ips, tally);
        } catch (inner) {
          if (!isUnknownInstance(inner)) throw inner;
        }
      }
    }
  }
  return ips;
}

async function describeInstanceBatch(
  ec2: LazyClient<EC2Client>,
  ids: readonly string[],
  ips: Map<string, string>,
  tally: CallTally,
): Promise<void> {
  const out = await awsCall('ec2', 'DescribeInstances', async () => {
    const [client, { DescribeInstancesCommand }] = await Promise.all([ec2(), import('@aws-sdk/client-ec2')]);
    tally.add('ec2', 'DescribeInstances');
    return client.send(new DescribeInstancesCommand({ InstanceIds: [...ids] }), tally.sendOptions);
  });
  for (const reservation of out.Reservations ?? []) {
    for (const instance of reservation.Instances ?? []) {
      if (instance.InstanceId && instance.PrivateIpAddress) {
        ips.set(instance.InstanceId, instance.PrivateIpAddress);
      }
    }
  }
}

function isUnknownInstance(err: unknown): boolean {
  return err instanceof AwsCallError && err.awsCode.startsWith('InvalidInstanceID');
}
