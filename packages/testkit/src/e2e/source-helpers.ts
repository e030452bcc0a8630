/**
 * Test helpers for the AWS-facing sources: a recording sink and SDK clients pointed at the fake.
 * The sources' interfaces are met structurally (an `EventSink`, an `ObservationHook`), so this
 * package needs nothing from the package that declares them.
 */
import { EC2Client, type EC2ClientConfig } from '@aws-sdk/client-ec2';
import { ECSClient, type ECSClientConfig } from '@aws-sdk/client-ecs';
import type { ClusterEvent, ObservationKind } from '@ecs-ingress/types';

/** An event sink that keeps every event and applies each one. */
export class RecordingSink {
  readonly events: ClusterEvent[] = [];

  dispatch(event: ClusterEvent): 'applied' {
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

export function recordObservations(): {
  hook: (kind: ObservationKind, detail: unknown, time: number) => void;
  seen: RecordedObservation[];
} {
  const seen: RecordedObservation[] = [];
  return { hook: (kind, detail, time) => seen.push({ kind, detail, time }), seen };
}

/** Real SDK clients on the fake; `maxAttempts` 3 is the SDK default. */
export function fakeClients(
  fake: { clientConfig(): ECSClientConfig & EC2ClientConfig },
  maxAttempts = 3,
): { ecs: ECSClient; ec2: EC2Client } {
  return {
    ecs: new ECSClient({ ...fake.clientConfig(), maxAttempts }),
    ec2: new EC2Client({ ...fake.clientConfig(), maxAttempts }),
  };
}
