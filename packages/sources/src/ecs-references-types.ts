/** The shapes around the reference resolver (ecs-references.ts): its options and the hooks it takes. */
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { ECSClient, TaskDefinition } from '@aws-sdk/client-ecs';
import type { Logger, ObservationKind } from '@ecs-ingress/types';
import type { LazyClient } from './aws/lazy-client.js';
import type { EventSink } from './event-sink.js';
import type { NegativeCacheOptions } from './negative-cache.js';
import type { EventSourceName, SourceMetrics } from './source-metrics.js';

/**
 * Receives what the API answered, raw (SDK objects), so `record` can write observation lines
 * (`formatObservationLine(kind, detail, time)`) that replay reproduces offline.
 */
export type ObservationHook = (kind: ObservationKind, detail: unknown, timeMs: number) => void;

/**
 * A cache of DescribeTaskDefinition answers shared beyond this process (fleet/task-definition-cache.ts).
 * Neither method throws: a failure is a miss.
 */
export interface TaskDefinitionCache {
  /** `signal`: the sync's (aborted at stop, so nothing waits on S3 at SIGTERM). */
  get(arn: string, signal?: AbortSignal): Promise<TaskDefinition | undefined>;
  put(arn: string, taskDefinition: TaskDefinition, signal?: AbortSignal): Promise<void>;
}

export interface EcsReferenceResolverOptions {
  readonly ecs: ECSClient;
  /** Built at the first container instance to resolve (bridge/host tasks only). */
  readonly ec2: LazyClient<EC2Client>;
  /** Cluster name or ARN (DescribeContainerInstances is scoped to a cluster). */
  readonly cluster: string;
  readonly sink: EventSink;
  readonly logger?: Logger;
  readonly metrics?: Pick<SourceMetrics, 'eventReceived'>;
  /** `source` label of `eventsReceived` for what this resolver emits. Default `poller`. */
  readonly metricsSource?: EventSourceName;
  readonly observe?: ObservationHook;
  /** True when the store already holds this task definition (learned from a recording, say). */
  readonly isKnownTaskDefinition?: (arn: string) => boolean;
  /** True when the store already holds this container instance with its IP. */
  readonly isKnownContainerInstance?: (arn: string) => boolean;
  /** Calls in flight at most, across every caller. Default 5. */
  readonly concurrency?: number;
  /** Read before DescribeTaskDefinition, written after it (the fleet's shared copy). */
  readonly sharedTaskDefinitions?: TaskDefinitionCache;
  /** Backoff of failed lookups (tests shorten it). */
  readonly negativeCache?: Omit<NegativeCacheOptions, 'now'>;
  readonly now?: () => number;
}
