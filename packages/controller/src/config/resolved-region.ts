/** The configuration with its AWS region resolved (sources: aws/region.ts), for the commands that talk to AWS. */
import { resolveAwsRegion } from '@ecs-ingress/sources';
import { ConfigError } from '@ecs-ingress/types';
import { ConfigErrors } from './env.js';

/**
 * `config` with its region resolved, for every command that talks to AWS (run, record, bootstrap,
 * teardown): one resolution, so they all reach the same region.
 * @throws ConfigErrors (exit 2 in the CLI) when no region is configured anywhere
 */
export async function withResolvedRegion<C extends { readonly region: string | undefined }>(
  config: C,
): Promise<C & { readonly region: string }> {
  try {
    return { ...config, region: await resolveAwsRegion(config.region) };
  } catch (err) {
    if (err instanceof ConfigError) throw new ConfigErrors([err]);
    throw err;
  }
}
