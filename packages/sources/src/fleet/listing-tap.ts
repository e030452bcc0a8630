/**
 * The shared listing's two ends, without I/O: the lister taps the snapshot its poller dispatched and
 * turns it into a `SharedListing` (with the references its tasks need); a follower merges one into
 * its store exactly as a local listing.
 */
import type { ClusterSnapshotEvent, ContainerInstanceView, TaskDefinitionView } from '@ecs-ingress/types';
import { CallTally } from '../aws-batches.js';
import type { SyncReport } from '../ecs-poller.js';
import type { EcsReferenceResolver } from '../ecs-references.js';
import type { EventSink } from '../event-sink.js';
import { listingEvent, type SharedListing } from './snapshot-codec.js';

/** Remembers the last `snapshot` the poller dispatched, so the lister can publish it. */
export class ListingTap {
  last: ClusterSnapshotEvent | undefined;

  wrap(inner: EventSink): EventSink {
    return {
      dispatch: (event) => {
        if (event.kind === 'snapshot') this.last = event;
        return inner.dispatch(event);
      },
    };
  }
}

/** What the listing's tasks refer to, as the store holds it. */
export interface ReferenceLookup {
  taskDefinition(arn: string): TaskDefinitionView | undefined;
  containerInstance(arn: string): ContainerInstanceView | undefined;
}

/** The listing to publish for the snapshot `snap`: its tasks, and the references the store holds for them. */
export function listingOf(
  snap: ClusterSnapshotEvent,
  lookup: ReferenceLookup,
  writtenBy: string,
): SharedListing {
  const tds = new Map<string, TaskDefinitionView>();
  const cis = new Map<string, ContainerInstanceView>();
  for (const t of snap.tasks) {
    const td = lookup.taskDefinition(t.taskDefinitionArn);
    if (td) tds.set(t.taskDefinitionArn, td);
    const ci = t.containerInstanceArn ? lookup.containerInstance(t.containerInstanceArn) : undefined;
    if (ci?.privateIpAddress) cis.set(ci.containerInstanceArn, ci);
  }
  return {
    clusterArn: snap.clusterArn,
    startedAt: snap.startedAt,
    writtenBy,
    tasks: snap.tasks,
    services: snap.services ?? [],
    taskDefinitions: [...tds.values()],
    containerInstances: [...cis.values()],
  };
}

/**
 * Merges a shared listing into `sink` as a local sync would: the references the store lacks first,
 * then the ones the lister could not resolve (shared cache, then ECS), then the `snapshot` event
 * with the listing's own start time (the store's merge rule keeps newer events' tasks).
 * @param at the observation time of the references it dispatches
 */
export async function mergeListing(
  listing: SharedListing,
  sink: EventSink,
  refs: Pick<EcsReferenceResolver, 'hasTaskDefinition' | 'hasContainerInstance' | 'resolveTaskDefinitions'>,
  at: number,
): Promise<SyncReport> {
  const clock = performance.now();
  for (const td of listing.taskDefinitions) {
    if (!refs.hasTaskDefinition(td.taskDefinitionArn)) {
      sink.dispatch({ kind: 'task-definition', taskDefinition: td, observedAt: at });
    }
  }
  for (const ci of listing.containerInstances) {
    if (!refs.hasContainerInstance(ci.containerInstanceArn)) {
      sink.dispatch({ kind: 'container-instance', containerInstance: ci, observedAt: at });
    }
  }
  const tally = new CallTally();
  const fetched = await refs.resolveTaskDefinitions(
    listing.tasks.map((t) => t.taskDefinitionArn),
    tally,
  );
  sink.dispatch(listingEvent(listing));
  return {
    clusterArn: listing.clusterArn,
    startedAt: listing.startedAt,
    calls: tally.toRecord(),
    totalCalls: tally.total,
    tasks: listing.tasks.length,
    services: listing.services.length,
    skippedTasks: 0,
    taskDefinitionsFetched: fetched,
    containerInstancesResolved: 0,
    durationMs: Math.round(performance.now() - clock),
  };
}
