/**
 * A fleet of daemons in one process for the fleet simulation and benchmark: per daemon the real
 * sources and store (poller, shared task-definition cache, FleetSync, supervisor; no NGINX, no
 * queue), each with its own SDK clients, against the wire-level ECS/EC2 fake and the S3 fake.
 */
import { EC2Client } from '@aws-sdk/client-ec2';
import { ECSClient } from '@aws-sdk/client-ecs';
import { S3Client } from '@aws-sdk/client-s3';
import { ClusterStore } from '@ecs-ingress/store';
import {
  type AwsFake,
  buildBridgeTask,
  buildTaskDefinition,
  containerInstanceArnFor,
  type S3Fake,
} from '@ecs-ingress/testkit/aws';
import { EcsPoller } from '../src/ecs-poller.js';
import { createFleetParts } from '../src/fleet/fleet-parts.js';
import { FleetSync } from '../src/fleet/fleet-sync.js';
import type { SharedS3Location } from '../src/fleet/shared-s3-uri.js';
import { SourceSupervisor } from '../src/source-supervisor.js';

export interface SeededCluster {
  readonly taskDefinitionArns: readonly string[];
  readonly containerInstanceArns: readonly string[];
}

/** `tasks` bridge tasks over `services` services (one revision each) on `instances` hosts (192.0.2.x). */
export function seedBridgeCluster(
  fake: AwsFake,
  o: { cluster: string; tasks: number; services: number; instances: number },
): SeededCluster {
  fake.ecs.addCluster(o.cluster);
  const tds: string[] = [];
  for (let s = 0; s < o.services; s++) {
    const td = fake.ecs.putTaskDefinition(
      buildTaskDefinition({
        family: `svc-${s}`,
        networkMode: 'bridge',
        containers: [{ name: 'app', containerPort: 8080 }],
      }),
    );
    tds.push(td.taskDefinitionArn as string);
    fake.ecs.putService(`svc-${s}`, { cluster: o.cluster });
  }
  const cis: string[] = [];
  for (let i = 0; i < o.instances; i++) {
    const ec2Id = `i-${(0xb000 + i).toString(16)}`;
    fake.ec2.putInstance(ec2Id, `192.0.2.${1 + (i % 254)}`);
    cis.push(
      fake.ecs.putContainerInstance(containerInstanceArnFor(o.cluster, `ci-${i}`), ec2Id)
        .containerInstanceArn as string,
    );
  }
  for (let t = 0; t < o.tasks; t++)
    addBridgeTask(fake, o.cluster, { taskDefinitionArns: tds, containerInstanceArns: cis }, t);
  return { taskDefinitionArns: tds, containerInstanceArns: cis };
}

/** Adds the `n`-th task of the seeded layout (service n mod S, host port 20000 + n). @returns its ARN */
export function addBridgeTask(fake: AwsFake, cluster: string, seeded: SeededCluster, n: number): string {
  const services = seeded.taskDefinitionArns.length;
  const task = fake.ecs.putTask(
    buildBridgeTask({
      cluster,
      service: `svc-${n % services}`,
      taskDefinitionArn: seeded.taskDefinitionArns[n % services] as string,
      containerInstanceArn: seeded.containerInstanceArns[n % seeded.containerInstanceArns.length] as string,
      hostPort: 20_000 + (n % 40_000),
    }),
  );
  return task.taskArn as string;
}

export interface SimTiming {
  /** The supervisor's sync interval (polling mode: no queue in the simulation). */
  readonly syncIntervalMs: number;
  readonly renewIntervalMs: number;
  readonly leaseMs: number;
  /** A follower lists by itself when the shared listing is older. */
  readonly maxSnapshotAgeMs: number;
}

export interface SimDaemon {
  readonly id: string;
  readonly store: ClusterStore;
  readonly fleet: FleetSync;
  readonly supervisor: SourceSupervisor;
  /** Start times (epoch ms) of this daemon's own ECS listings. */
  readonly ownListings: number[];
  /** The fleet's failed S3 calls, by operation (each turns the daemon standalone for a while). */
  readonly s3Errors: string[];
  /** Times (epoch ms) this daemon became the lister. */
  readonly becameLister: number[];
  /** Stops everything, like a killed process (the lease is left to expire). */
  stop(): Promise<void>;
}

export function startSimDaemon(o: {
  id: string;
  aws: AwsFake;
  s3: S3Fake;
  location: SharedS3Location;
  cluster: string;
  timing: SimTiming;
}): SimDaemon {
  const ecs = new ECSClient({ ...o.aws.clientConfig(), maxAttempts: 3 });
  const ec2 = new EC2Client({ ...o.aws.clientConfig(), maxAttempts: 3 });
  // The SDK's default attempts, as the daemon's clients have (a reused keep-alive socket the
  // server closed is retried, not an outage).
  const s3 = new S3Client({ ...o.s3.clientConfig(), maxAttempts: 3 });
  const store = new ClusterStore();
  const s3Errors: string[] = [];
  const becameLister: number[] = [];
  const hooks = {
    onS3Error: (operation: string) => s3Errors.push(operation),
    onRole: (role: string) => (role === 'lister' ? becameLister.push(Date.now()) : undefined),
  };
  const parts = createFleetParts({ s3: async () => s3, location: o.location, hooks });
  const poller = new EcsPoller({
    ecs,
    ec2: async () => ec2,
    cluster: o.cluster,
    sink: parts.tap.wrap(store),
    sharedTaskDefinitions: parts.taskDefinitions,
    isKnownTaskDefinition: (arn) => store.snapshot().taskDefinitions.has(arn),
    isKnownContainerInstance: (arn) => !!store.snapshot().containerInstances.get(arn)?.privateIpAddress,
  });
  const ownListings: number[] = [];
  const fleet = new FleetSync({
    poller: {
      references: poller.references,
      fullSync: (signal) => {
        ownListings.push(Date.now());
        return poller.fullSync(signal);
      },
    },
    tap: parts.tap,
    sink: store,
    lookup: {
      taskDefinition: (arn) => store.snapshot().taskDefinitions.get(arn),
      containerInstance: (arn) => store.snapshot().containerInstances.get(arn),
    },
    objects: parts.objects,
    identity: o.id,
    renewIntervalMs: o.timing.renewIntervalMs,
    leaseMs: o.timing.leaseMs,
    maxSnapshotAgeMs: o.timing.maxSnapshotAgeMs,
    hooks,
  });
  const supervisor = new SourceSupervisor({
    poller: fleet,
    pollIntervalMs: o.timing.syncIntervalMs,
    retry: { initialMs: 100, maxMs: 1_000 },
  });
  fleet.start();
  supervisor.start();
  return {
    id: o.id,
    store,
    fleet,
    supervisor,
    ownListings,
    s3Errors,
    becameLister,
    stop: async () => {
      await fleet.stop();
      await supervisor.stop();
      ecs.destroy();
      ec2.destroy();
      s3.destroy();
    },
  };
}
