/**
 * The daemon's sources (DESIGN.md "Sources"), built in one place: the ECS poller (full syncs), the
 * event queue with its SQS source (built once the instance id is known), the health checker, and
 * the reference watcher that fetches, at once, what routable tasks refer to and the store lacks.
 * All of them dispatch into the store; the poller's resolver is shared, so each task definition
 * and container instance costs one lookup per process whoever needs it first.
 */

import type { ClusterState, ClusterStore, Derivation } from '@ecs-ingress/store';
import type { Logger } from '@ecs-ingress/types';
import type { AwsClients } from '../aws/clients.js';
import type { DaemonConfig } from '../config/env.js';
import type { Metrics } from '../http/metrics.js';
import { CallTally } from '../sources/aws-batches.js';
import { EcsPoller, type SyncReport } from '../sources/ecs-poller.js';
import { HealthChecker } from '../sources/health-checker.js';
import { ReferenceWatcher } from '../sources/reference-watcher.js';
import type { FullSyncSource } from '../sources/source-supervisor.js';
import { SqsSource, type SqsSourceHooks } from '../sources/sqs-source.js';
import { EventQueue } from './event-queue.js';

export interface DaemonSourcesOptions {
  readonly config: DaemonConfig;
  readonly clients: AwsClients;
  readonly store: ClusterStore;
  readonly derive: (state: ClusterState) => Derivation;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly sqsHooks?: SqsSourceHooks;
  readonly sqsWaitTimeSeconds?: number;
  /** Every full sync's outcome (the daemon's readiness shows a failing one). */
  readonly onSync?: (outcome: { ok: true; report: SyncReport } | { ok: false; error: unknown }) => void;
}

export interface DaemonSources {
  readonly poller: EcsPoller;
  /** The poller as the supervisor drives it, reporting each outcome to `onSync`. */
  readonly syncs: FullSyncSource;
  readonly health: HealthChecker;
  readonly references: ReferenceWatcher<ClusterState>;
  /** The event queue for this instance (its id names a per-instance queue). */
  createQueue(instanceId: string): EventQueue;
}

export function createDaemonSources(o: DaemonSourcesOptions): DaemonSources {
  const { config, clients, store, logger, metrics } = o;
  const cluster = config.clusterName;
  const poller = new EcsPoller({
    ecs: clients.ecs,
    ec2: clients.ec2,
    cluster,
    sink: store,
    logger,
    metrics,
    isKnownTaskDefinition: (arn) => store.snapshot().taskDefinitions.has(arn),
    // Known without its EC2 address is not known: the address is what a bridge/host task needs.
    isKnownContainerInstance: (arn) => !!store.snapshot().containerInstances.get(arn)?.privateIpAddress,
  });
  const syncs: FullSyncSource = {
    fullSync: (signal) =>
      poller.fullSync(signal).then(
        (report) => {
          o.onSync?.({ ok: true, report });
          return report;
        },
        (error: unknown) => {
          o.onSync?.({ ok: false, error });
          throw error;
        },
      ),
  };
  const health = new HealthChecker({
    ecs: clients.ecs,
    cluster,
    sink: store,
    references: poller.references,
    awaitingHealth: () => o.derive(store.snapshot()).awaitingHealth,
    logger,
    metrics,
    intervalMs: config.healthCheckIntervalMs,
  });
  const references = new ReferenceWatcher<ClusterState>({
    state$: store.state$,
    missing: (state) => o.derive(state),
    references: poller.references,
    logger,
  });
  const createQueue = (instanceId: string) =>
    new EventQueue({
      settings: { ...config.queue, instanceId },
      sqs: clients.sqs,
      events: clients.events,
      clusterArn: (signal) => poller.clusterArn(new CallTally(signal)),
      consume: (queueUrl) =>
        new SqsSource({
          sqs: clients.sqs,
          queueUrl,
          sink: store,
          cluster,
          logger,
          metrics,
          malformed: config.queue.malformed,
          ...(o.sqsHooks ? { hooks: o.sqsHooks } : {}),
          ...(o.sqsWaitTimeSeconds === undefined ? {} : { waitTimeSeconds: o.sqsWaitTimeSeconds }),
        }),
      // The queue came up late: events before it were never delivered, so list the cluster again.
      onLateStart: () =>
        void poller
          .fullSync()
          .catch((err: unknown) => logger.warn({ err }, 'resync after the queue came up failed')),
      logger,
    });
  return { poller, syncs, health, references, createQueue };
}
