/**
 * The shared listing as one gzip-compressed JSON object (pure: bytes in, values out). It carries
 * what a follower needs to merge it exactly as its own poller's listing, without calling ECS: the
 * tasks and services with the listing's start time (the store's merge rule), and the task
 * definitions and container instances those tasks refer to.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import {
  type ClusterSnapshotEvent,
  type ContainerInstanceView,
  EcsIngressError,
  type TaskDefinitionView,
  type TaskSnapshot,
} from '@ecs-ingress/types';

export const SNAPSHOT_OBJECT = 'cluster-listing.json.gz';
const FORMAT = 1;
/** A listing of 50,000 tasks is ~40 MB of JSON; anything far beyond is not ours. */
const MAX_INFLATED_BYTES = 256 * 1024 * 1024;

export interface SharedListing {
  readonly clusterArn: string;
  /** Epoch ms before the lister's first ListTasks. */
  readonly startedAt: number;
  readonly writtenBy: string;
  readonly tasks: readonly TaskSnapshot[];
  readonly services: readonly string[];
  readonly taskDefinitions: readonly TaskDefinitionView[];
  readonly containerInstances: readonly ContainerInstanceView[];
}

/** A snapshot object that does not decode: logged, counted, and the daemon syncs by itself. */
export class SharedListingInvalidError extends EcsIngressError {
  constructor(reason: string, options?: { cause?: unknown }) {
    super('ECS_INGRESS_FLEET_SNAPSHOT_INVALID', `shared cluster listing is invalid: ${reason}`, {
      ...options,
      retryable: true,
    });
  }
}

export function encodeListing(listing: SharedListing): Buffer {
  return gzipSync(JSON.stringify({ format: FORMAT, ...listing }), { level: 6 });
}

export function decodeListing(bytes: Uint8Array): SharedListing {
  let v: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(
      gunzipSync(bytes, { maxOutputLength: MAX_INFLATED_BYTES }).toString('utf8'),
    );
    if (parsed === null || typeof parsed !== 'object') throw new Error('not an object');
    v = parsed as Record<string, unknown>;
  } catch (cause) {
    throw new SharedListingInvalidError('not gzip-compressed JSON', { cause });
  }
  if (v.format !== FORMAT) throw new SharedListingInvalidError(`unknown format ${JSON.stringify(v.format)}`);
  const str = (k: string) => {
    if (typeof v[k] !== 'string') throw new SharedListingInvalidError(`${k} is not a string`);
    return v[k] as string;
  };
  const arr = <T>(k: string, ok: (x: Record<string, unknown>) => boolean): T[] => {
    const a = v[k];
    if (!Array.isArray(a) || !a.every((x) => x !== null && typeof x === 'object' && ok(x))) {
      throw new SharedListingInvalidError(`${k} is not a list of the expected objects`);
    }
    return a as T[];
  };
  if (typeof v.startedAt !== 'number' || !Number.isFinite(v.startedAt)) {
    throw new SharedListingInvalidError('startedAt is not a number');
  }
  const services = v.services;
  if (!Array.isArray(services) || !services.every((s) => typeof s === 'string')) {
    throw new SharedListingInvalidError('services is not a list of names');
  }
  return {
    clusterArn: str('clusterArn'),
    writtenBy: str('writtenBy'),
    startedAt: v.startedAt,
    services: services as string[],
    tasks: arr<TaskSnapshot>('tasks', (t) => typeof t.taskArn === 'string' && typeof t.version === 'number'),
    taskDefinitions: arr<TaskDefinitionView>(
      'taskDefinitions',
      (t) => typeof t.taskDefinitionArn === 'string',
    ),
    containerInstances: arr<ContainerInstanceView>(
      'containerInstances',
      (c) => typeof c.containerInstanceArn === 'string',
    ),
  };
}

/** The store event a decoded listing becomes: the same `snapshot` the local poller dispatches. */
export function listingEvent(listing: SharedListing): ClusterSnapshotEvent {
  return {
    kind: 'snapshot',
    clusterArn: listing.clusterArn,
    startedAt: listing.startedAt,
    tasks: listing.tasks,
    services: listing.services,
  };
}
