/**
 * The daemon's sources (DESIGN.md "Sources"), built in one place: the ECS poller (full syncs), the
 * event queue with its SQS source (built once the instance id is known), the health checker, and
 * the reference watcher that fetches, at once, what routable tasks refer to and the store lacks.
 * All of them dispatch into the store; the poller's resolver is shared, so each task definition
 * and container instance costs one lookup per process whoever needs it first.
 */

import type { AwsClients, FleetHooks, FullSyncSource } from '@ecs-ingress/sources';
import {
  CallTally,
  createFleetParts,
  EcsPoller,
  type FleetStatus,
  FleetSync,
  HealthChecker,
  ReferenceWatcher,
  resolveInstanceId,
  SqsSource,
  type SqsSourceHooks,
  type SyncReport,
} from '@ecs-ingress/sources';
import type { ClusterState, ClusterStore, Derivation } from '@ecs-ingress/store';
import type { Logger } from '@ecs-ingress/types';
import type { DaemonConfig } from '../config/env.js';
import type { Metrics } from '../http/metrics.js';
import { sourceMetrics } from '../http/source-metrics.js';
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
  /** The fleet's reports (ECS_INGRESS_SHARED_S3_URI set). */
  readonly fleetHooks?: FleetHooks;
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
  /** Set when ECS_INGRESS_SHARED_S3_URI is: one listing shared by the fleet (docs/fleet.md). */
  readonly fleet?: DaemonFleet;
}

export interface DaemonFleet {
  /** Starts the lease loop under this daemon's identity; `syncs` goes through the fleet from then on. */
  start(identity: string): void;
  stop(): Promise<void>;
  /** For /debug/fleet; undefined before `start`. */
  status(): FleetStatus | undefined;
}

export function createDaemonSources(o: DaemonSourcesOptions): DaemonSources {
  const { config, clients, store, logger } = o;
  const metrics = sourceMetrics(o.metrics);
  const cluster = config.clusterName;
  const fleetParts = config.sharedS3
    ? createFleetParts({
        s3: clients.s3,
        location: config.sharedS3,
        logger,
        ...(o.fleetHooks ? { hooks: o.fleetHooks } : {}),
      })
    : undefined;
  const poller = new EcsPoller({
    ecs: clients.ecs,
    ec2: clients.ec2,
    cluster,
    // The lister publishes the listing the poller dispatched.
    sink: fleetParts ? fleetParts.tap.wrap(store) : store,
    logger,
    metrics,
    ...(fleetParts ? { sharedTaskDefinitions: fleetParts.taskDefinitions } : {}),
    isKnownTaskDefinition: (arn) => store.snapshot().taskDefinitions.has(arn),
    // Known without its EC2 address is not known: the address is what a bridge/host task needs.
    isKnownContainerInstance: (arn) => !!store.snapshot().containerInstances.get(arn)?.privateIpAddress,
  });
  let fleetSync: FleetSync | undefined;
  const fleet: DaemonFleet | undefined = fleetParts && {
    start(identity) {
      fleetSync ??= new FleetSync({
        poller,
        tap: fleetParts.tap,
        sink: store,
        lookup: {
          taskDefinition: (arn) => store.snapshot().taskDefinitions.get(arn),
          containerInstance: (arn) => store.snapshot().containerInstances.get(arn),
        },
        objects: fleetParts.objects,
        identity,
        leaseMs: config.sharedLease.leaseMs,
        renewIntervalMs: config.sharedLease.renewIntervalMs,
        // A follower lists by itself once the shared listing is a resync interval and a lease old.
        maxSnapshotAgeMs: config.resyncIntervalMs + config.sharedLease.leaseMs,
        logger,
        ...(o.fleetHooks ? { hooks: o.fleetHooks } : {}),
      });
      fleetSync.start();
    },
    stop: async () => {
      await fleetSync?.stop();
    },
    status: () => fleetSync?.status(),
  };
  const syncs: FullSyncSource = {
    fullSync: (signal) =>
      (fleetSync ? fleetSync.fullSync(signal) : poller.fullSync(signal)).then(
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
  return { poller, syncs, health, references, createQueue, ...(fleet ? { fleet } : {}) };
}

/**
 * The identity the event queue and the fleet's lease go by. Only a per-instance queue is named
 * after the instance, so the ECS agent is asked (≤ 1 s) only in that mode; otherwise it is
 * ECS_INGRESS_INSTANCE_ID, else the host name.
 */
export async function daemonInstanceId(config: DaemonConfig, logger: Logger): Promise<string> {
  const { mode, instanceId, agentUrl } = config.queue;
  if (mode !== 'per-instance') return instanceId;
  const plan = { fallback: instanceId, ...(agentUrl === undefined ? {} : { agentUrl }) };
  return (await resolveInstanceId(plan, { logger })).id;
}
