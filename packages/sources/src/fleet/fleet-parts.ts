/** Builds the fleet's pieces that the poller needs before it exists (its sink tap, the shared cache). */
import type { S3Client } from '@aws-sdk/client-s3';
import type { Logger } from '@ecs-ingress/types';
import type { LazyClient } from '../aws/lazy-client.js';
import type { FleetHooks } from './fleet-hooks.js';
import { FleetObjects } from './fleet-objects.js';
import { ListingTap } from './listing-tap.js';
import type { SharedS3Location } from './shared-s3-uri.js';
import { SharedTaskDefinitionCache } from './task-definition-cache.js';

export interface FleetParts {
  readonly objects: FleetObjects;
  /** Wrap the poller's sink with it, so the lister can publish what the poller listed. */
  readonly tap: ListingTap;
  /** Pass to the poller as `sharedTaskDefinitions`. */
  readonly taskDefinitions: SharedTaskDefinitionCache;
}

export function createFleetParts(o: {
  /** Built at the first S3 call. */
  readonly s3: LazyClient<S3Client>;
  readonly location: SharedS3Location;
  readonly hooks?: FleetHooks;
  readonly logger?: Logger;
}): FleetParts {
  const objects = new FleetObjects(o.s3, o.location);
  return {
    objects,
    tap: new ListingTap(),
    taskDefinitions: new SharedTaskDefinitionCache(objects, o.hooks, o.logger),
  };
}
