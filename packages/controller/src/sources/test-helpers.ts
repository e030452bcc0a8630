/**
 * Test helpers for the AWS-facing sources: a recording sink and SDK clients pointed at the fake.
 * (Test-only; not exported from the package.)
 */
import { EC2Client } from '@aws-sdk/client-ec2';
import { ECSClient } from '@aws-sdk/client-ecs';
import type { ClusterEvent, ObservationKind } from '@ecs-ingress/types';
import type { AwsFake } from '../test-support/aws-fake/index.js';
import type { ObservationHook } from './ecs-references.js';
import type { DispatchOutcome, EventSink } from './sqs-source.js';

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

/** Real SDK clients on the fake; `maxAttempts` 3 is the SDK default. */
export function fakeClients(fake: AwsFake, maxAttempts = 3): { ecs: ECSClient; ec2: EC2Client } {
  return {
    ecs: new ECSClient({ ...fake.clientConfig(), maxAttempts }),
    ec2: new EC2Client({ ...fake.clientConfig(), maxAttempts }),
  };
}
