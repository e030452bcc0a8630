/**
 * The AWS region the way every AWS tool finds it: AWS_REGION, then (like the AWS CLI)
 * AWS_DEFAULT_REGION, then the SDK's own chain — the `region` of the profile (AWS_PROFILE) in the
 * shared config file. Never a silent default: an endpoint override (an emulator) still needs one.
 */
import { ECSClient } from '@aws-sdk/client-ecs';
import { ConfigError } from '@ecs-ingress/types';

/**
 * The region the SDK will use; `explicit` (the configuration's AWS_REGION / AWS_DEFAULT_REGION)
 * wins, else the SDK resolves it from the shared config.
 * @throws ConfigError naming AWS_REGION when no region is configured anywhere
 */
export async function resolveAwsRegion(explicit: string | undefined): Promise<string> {
  if (explicit !== undefined) return explicit;
  // A client's `config.region()` is the SDK's resolution chain itself; nothing is sent.
  const probe = new ECSClient({});
  try {
    const region = await probe.config.region();
    if (typeof region === 'string' && region !== '') return region;
  } catch {
    // "Region is missing": reported below with what to set.
  } finally {
    probe.destroy();
  }
  throw new ConfigError(
    'AWS_REGION',
    'is not set and the AWS profile names no region (AWS_PROFILE, region in ~/.aws/config): set AWS_REGION to the cluster’s region, e.g. eu-west-1',
  );
}
