/**
 * `ecs-ingress record`: the daemon's sources without NGINX, writing the replay format (DESIGN.md
 * "Sources → replay") so that `replay` reproduces the same upstreams offline:
 * - every full sync (start-up, resyncs, fallback polls) as the poller saw it: `Task Definition` and
 *   `Container Instance` lines for what it fetched, then a `Cluster Snapshot`;
 * - every SQS message body exactly as received, written BEFORE the source dispatches and deletes
 *   it (a middleware on the SQS client sees the ReceiveMessage answer first), so a message is never
 *   deleted without being on disk;
 * - every health-checker answer as a `Task Described` line.
 * The recorder keeps its own store, because the poller and the health checker need one (known
 * references, tasks awaiting health); `store` lets a test compare live and replayed upstreams.
 */

import type { EC2Client } from '@aws-sdk/client-ec2';
import type { ECSClient } from '@aws-sdk/client-ecs';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { LazyClient, ProvisioningAction } from '@ecs-ingress/sources';
import {
  EcsPoller,
  HealthChecker,
  ReferenceWatcher,
  SourceSupervisor,
  SqsSource,
} from '@ecs-ingress/sources';
import type { ClusterState } from '@ecs-ingress/store';
import { ClusterStore, createUpstreamDeriver, type UpstreamDeriver } from '@ecs-ingress/store';
import { formatObservationLine, type Logger, type ObservationKind, silentLogger } from '@ecs-ingress/types';
import { EventQueue, type EventQueueSettings } from './event-queue.js';
import { bodyAsLine, LineWriter } from './line-writer.js';

export interface RecorderOptions {
  readonly ecs: ECSClient;
  readonly ec2: LazyClient<EC2Client>;
  readonly sqs: SQSClient;
  readonly events: LazyClient<EventBridgeClient>;
  /** Cluster name or ARN. */
  readonly cluster: string;
  readonly queue: EventQueueSettings;
  readonly out: string;
  readonly malformed?: 'delete' | 'leave';
  readonly resyncIntervalMs?: number;
  readonly pollIntervalMs?: number;
  readonly graceMs?: number;
  readonly healthCheckIntervalMs?: number;
  readonly tombstoneTtlMs?: number;
  /** Stop after this many queue messages are written (a batch received together is written whole). */
  readonly maxEvents?: number;
  /** Stop after this long. */
  readonly durationMs?: number;
  /** Long-poll wait (tests shorten it so stop is quick). Default 20 s. */
  readonly waitTimeSeconds?: number;
  readonly logger?: Logger;
}

export type RecordStopReason = 'stopped' | 'duration' | 'max-events';

export interface RecordResult {
  readonly reason: RecordStopReason;
  /** Lines in the file. */
  readonly lines: number;
  /** Queue messages written. */
  readonly events: number;
  /** Observation lines written, by kind. */
  readonly observations: Readonly<Record<ObservationKind, number>>;
  /** Per-instance mode: what was removed at the end. */
  readonly teardown: readonly ProvisioningAction[];
}

export interface Recording {
  readonly store: ClusterStore;
  /** Resolves when the first full sync is on disk. */
  readonly firstSync: Promise<void>;
  /** Resolves when recording ended (stop(), duration or max events) and everything is closed. */
  readonly done: Promise<RecordResult>;
  stop(): Promise<RecordResult>;
}

const MIDDLEWARE_NAME = 'ecsIngressRecordBodies';

export function startRecording(options: RecorderOptions): Recording {
  const logger = (options.logger ?? silentLogger).child({ component: 'recorder' });
  const writer = new LineWriter(options.out);
  const store = new ClusterStore(
    options.tombstoneTtlMs === undefined ? {} : { tombstoneTtlMs: options.tombstoneTtlMs },
  );
  const observations: Record<ObservationKind, number> = {
    'Task Definition': 0,
    'Container Instance': 0,
    'Task Described': 0,
    'Cluster Snapshot': 0,
    'Service Described': 0,
  };
  let events = 0;
  let stopping: Promise<RecordResult> | undefined;
  let resolveDone!: (r: RecordResult) => void;
  const done = new Promise<RecordResult>((res) => {
    resolveDone = res;
  });

  const observe = (kind: ObservationKind, detail: unknown, timeMs: number) => {
    if (stopping !== undefined) return;
    writer.write(formatObservationLine(kind, detail, timeMs));
    observations[kind] += 1;
  };

  // Bodies are written as the ReceiveMessage answer comes back, before the source parses,
  // dispatches and deletes them.
  options.sqs.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      if (context.commandName === 'ReceiveMessageCommand') {
        const messages = (result.output as { Messages?: { Body?: string }[] }).Messages ?? [];
        for (const m of messages) {
          if (m.Body === undefined) continue;
          writer.write(bodyAsLine(m.Body));
          events += 1;
        }
        if (options.maxEvents !== undefined && events >= options.maxEvents) void stop('max-events');
      }
      return result;
    },
    { step: 'initialize', name: MIDDLEWARE_NAME, override: true },
  );

  const poller = new EcsPoller({
    ecs: options.ecs,
    ec2: options.ec2,
    cluster: options.cluster,
    sink: store,
    logger,
    observe,
    isKnownTaskDefinition: (arn) => store.snapshot().taskDefinitions.has(arn),
    isKnownContainerInstance: (arn) => store.snapshot().containerInstances.has(arn),
  });
  // One memoised deriver per cluster filter (the poller learns the cluster's full ARN at its first sync).
  let deriver: { readonly cluster: string | undefined; readonly derive: UpstreamDeriver } | undefined;
  const derive = (state: ClusterState) => {
    const cluster = poller.knownClusterArn ?? options.cluster;
    if (deriver?.cluster !== cluster)
      deriver = { cluster, derive: createUpstreamDeriver({ clusterArn: cluster }) };
    return deriver.derive(state);
  };
  const health = new HealthChecker({
    ecs: options.ecs,
    cluster: options.cluster,
    sink: store,
    references: poller.references,
    awaitingHealth: () => derive(store.snapshot()).awaitingHealth,
    logger,
    observe,
    ...(options.healthCheckIntervalMs === undefined ? {} : { intervalMs: options.healthCheckIntervalMs }),
  });
  // What events reference and the store lacks is fetched at once and recorded as observations, so
  // a replay routes a new revision exactly when the live daemon did.
  const references = new ReferenceWatcher({
    state$: store.state$,
    missing: derive,
    references: poller.references,
    logger,
  });
  const queue = new EventQueue({
    settings: options.queue,
    sqs: options.sqs,
    events: options.events,
    clusterArn: () => poller.clusterArn(),
    consume: (queueUrl) =>
      new SqsSource({
        sqs: options.sqs,
        queueUrl,
        sink: store,
        cluster: options.cluster,
        logger,
        malformed: options.malformed ?? 'delete',
        ...(options.waitTimeSeconds === undefined ? {} : { waitTimeSeconds: options.waitTimeSeconds }),
      }),
    onLateStart: () => void poller.fullSync().catch((err: unknown) => logger.warn({ err }, 'resync failed')),
    logger,
  });
  let supervisor: SourceSupervisor | undefined;
  let durationTimer: NodeJS.Timeout | undefined;

  const started = (async () => {
    // The queue first, so no event between the listing and the queue's creation is lost.
    await queue.start();
    if (stopping !== undefined) return;
    supervisor = new SourceSupervisor({
      poller,
      queueHealthy$: queue.healthy$,
      logger,
      ...(options.resyncIntervalMs === undefined ? {} : { resyncIntervalMs: options.resyncIntervalMs }),
      ...(options.pollIntervalMs === undefined ? {} : { pollIntervalMs: options.pollIntervalMs }),
      ...(options.graceMs === undefined ? {} : { graceMs: options.graceMs }),
    });
    supervisor.start();
    health.start();
    references.start();
    await supervisor.firstSync;
    logger.info({ lines: writer.lines }, 'first full sync recorded');
  })();
  const firstSync = started.catch(() => undefined);
  if (options.durationMs !== undefined)
    durationTimer = setTimeout(() => void stop('duration'), options.durationMs);

  function stop(reason: RecordStopReason): Promise<RecordResult> {
    stopping ??= (async () => {
      if (durationTimer !== undefined) clearTimeout(durationTimer);
      // Never wait for a first sync that may not come (AWS unreachable): stopping the supervisor
      // aborts the sync in flight and ends it. Set-up still in flight sees `stopping` and returns.
      await supervisor?.stop();
      await health.stop();
      await references.stop();
      await started.catch(() => undefined);
      // Stops the SQS source (after its deletes) and removes a per-instance queue and rule.
      let teardown: ProvisioningAction[] = [];
      try {
        teardown = await queue.stop();
      } catch (err) {
        logger.error(
          { err, code: 'ECS_INGRESS_PROVISIONING_FAILED' },
          'could not remove the recording queue',
        );
      }
      options.sqs.middlewareStack.remove(MIDDLEWARE_NAME);
      writer.close();
      store.complete();
      const result: RecordResult = {
        reason,
        lines: writer.lines,
        events,
        observations: { ...observations },
        teardown,
      };
      logger.info({ ...result, teardown: teardown.length }, 'recording ended');
      resolveDone(result);
      return result;
    })();
    return stopping;
  }

  return { store, firstSync, done, stop: () => stop('stopped') };
}
