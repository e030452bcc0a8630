/**
 * Test helpers for the AWS-facing sources: a recording sink and SDK clients pointed at the fake.
 * (Test-only; not exported from the package.)
 */
import { EC2Client } from '@aws-sdk/client-ec2';
import { ECSClient } from '@aws-sdk/client-ecs';
import { type AwsFake, startAwsFake } from '@ecs-ingress/testkit/aws';
import type { ClusterEvent, Logger, ObservationKind } from '@ecs-ingress/types';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { type LazyClient, lazyClient } from '../src/aws/lazy-client.js';
import { EcsReferenceResolver, type ObservationHook } from '../src/ecs-references.js';
import type { EcsReferenceResolverOptions } from '../src/ecs-references-types.js';
import type { DispatchOutcome, EventSink } from '../src/event-sink.js';
import type { AwsCallOutcome, EventSourceName, SourceMetrics, SourceMode } from '../src/source-metrics.js';

export class RecordingSink implements EventSink {
  readonly events: ClusterEvent[] = [];

  dispatch(event: ClusterEvent): DispatchOutcome {
    this.events.push(event);
    return 'applied';
  }

  kinds(): string[] {
    return this.events.map((e) => e.kind);
  }

  ofKind<K extends ClusterEvent['kind']>(kind: K): Extract<ClusterEvent, { kind: K }>[] {
    return this.events.filter((e): e is Extract<ClusterEvent, { kind: K }> => e.kind === kind);
  }

  clear(): void {
    this.events.length = 0;
  }
}

export interface RecordedObservation {
  kind: ObservationKind;
  detail: unknown;
  time: number;
}

export function recordObservations(): { hook: ObservationHook; seen: RecordedObservation[] } {
  const seen: RecordedObservation[] = [];
  return { hook: (kind, detail, time) => seen.push({ kind, detail, time }), seen };
}

/** Real SDK clients on the fake, EC2 built at its first use as the daemon's is (aws/clients.ts). */
export interface FakeClients {
  readonly ecs: ECSClient;
  readonly ec2: LazyClient<EC2Client>;
  /** Destroys both (EC2 only if it was built). */
  destroy(): void;
}

/** `FakeClients` on `fake`; `maxAttempts` 3 is the SDK default. */
export function fakeClients(fake: AwsFake, maxAttempts = 3): FakeClients {
  const ecs = new ECSClient({ ...fake.clientConfig(), maxAttempts });
  const ec2 = lazyClient(async () => new EC2Client({ ...fake.clientConfig(), maxAttempts }));
  return {
    ecs,
    ec2: ec2.get,
    destroy: () => {
      ecs.destroy();
      ec2.destroy();
    },
  };
}

/** The wire fake and real SDK clients on it, as `useAwsFake` hands them to a test file. */
export interface FakeAws extends FakeClients {
  readonly fake: AwsFake;
}

/**
 * Registers the file's AWS fake: started with SDK clients before all tests (`maxAttempts` as in
 * `fakeClients`), emptied (clusters, task definitions, instances, calls, faults) before each test,
 * with `cluster` added again when given, and closed after all. `ready` receives the fake and clients.
 */
export function useAwsFake(
  ready: (aws: FakeAws) => void,
  options: { maxAttempts?: number; cluster?: string } = {},
): void {
  let aws: FakeAws | undefined;
  beforeAll(async () => {
    const fake = await startAwsFake();
    aws = { fake, ...fakeClients(fake, options.maxAttempts) };
    ready(aws);
  });
  afterAll(async () => {
    aws?.destroy();
    await aws?.fake.close();
  });
  beforeEach(() => {
    const fake = aws!.fake;
    fake.ecs.clusters.clear();
    fake.ecs.taskDefinitions.clear();
    fake.ec2.instances.clear();
    fake.resetCalls();
    fake.clearFaults();
    if (options.cluster !== undefined) fake.ecs.addCluster(options.cluster);
  });
}

/** What `useResolverFake` hands the reference resolver tests. */
export interface ResolverFake {
  readonly aws: FakeAws;
  readonly fake: AwsFake;
  /** The resolvers' clock (ms), back at 1_700_000_000_000 before each test; tests move it. */
  clock: number;
  /** An EcsReferenceResolver for `prod` on the fake, reading `clock`, negative-cache jitter fixed at its middle. */
  resolver(sink?: EventSink, extra?: Partial<EcsReferenceResolverOptions>): EcsReferenceResolver;
}

/**
 * The reference resolver tests' set-up: `useAwsFake` with one attempt per call and cluster `prod`,
 * and a manual clock reset before each test.
 */
export function useResolverFake(): ResolverFake {
  let aws: FakeAws | undefined;
  useAwsFake(
    (ready) => {
      aws = ready;
    },
    { maxAttempts: 1, cluster: 'prod' },
  );
  const context: ResolverFake = {
    get aws() {
      return aws!;
    },
    get fake() {
      return aws!.fake;
    },
    clock: 0,
    resolver: (sink = new RecordingSink(), extra = {}) =>
      new EcsReferenceResolver({
        ecs: aws!.ecs,
        ec2: aws!.ec2,
        cluster: 'prod',
        sink,
        now: () => context.clock,
        negativeCache: { random: () => 0.5 },
        ...extra,
      }),
  };
  beforeEach(() => {
    context.clock = 1_700_000_000_000;
  });
  return context;
}

/** A logger keeping the fields of every `warn` call; the other levels are dropped. */
export function warningLogger(): { logger: Logger; warnings: Record<string, unknown>[] } {
  const warnings: Record<string, unknown>[] = [];
  const logger: Logger = {
    trace() {},
    debug() {},
    info() {},
    warn(obj: unknown) {
      if (typeof obj === 'object' && obj !== null) warnings.push(obj as Record<string, unknown>);
    },
    error() {},
    fatal() {},
    child: () => logger,
  };
  return { logger, warnings };
}

/** A `SourceMetrics` that keeps what it was told, for assertions (the no-prom-client hook interface). */
export class RecordedMetrics implements SourceMetrics {
  /** `service operation outcome` → calls. */
  readonly awsCalls = new Map<string, number>();
  /** `service operation` → durations reported. */
  readonly awsDurations = new Map<string, number>();
  /** `source detail-type` → events. */
  readonly events = new Map<string, number>();
  invalid = 0;
  awaitingHealth: number | undefined;
  sqsReceived = 0;
  sqsDeleted = 0;
  sqsHealthy: boolean | undefined;
  mode: SourceMode | undefined;

  eventReceived(source: EventSourceName, detailType: string): void {
    bump(this.events, `${source} ${detailType}`);
  }
  invalidEvent(): void {
    this.invalid++;
  }
  tasksAwaitingHealth(count: number): void {
    this.awaitingHealth = count;
  }
  sqsMessagesReceived(count: number): void {
    this.sqsReceived += count;
  }
  sqsMessagesDeleted(count: number): void {
    this.sqsDeleted += count;
  }
  sqsSourceHealthy(healthy: boolean): void {
    this.sqsHealthy = healthy;
  }
  sourceMode(mode: SourceMode): void {
    this.mode = mode;
  }
  awsCall(service: string, operation: string, outcome: AwsCallOutcome, seconds: number): void {
    bump(this.awsCalls, `${service} ${operation} ${outcome}`);
    if (seconds >= 0) bump(this.awsDurations, `${service} ${operation}`);
  }
}

function bump(counts: Map<string, number>, key: string): void {
  counts.set(key, (counts.get(key) ?? 0) + 1);
}
