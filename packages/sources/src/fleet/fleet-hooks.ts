/** What the fleet modules report; the HTTP layer adapts these to metrics (no prom-client here). */
export interface FleetHooks {
  /** The shared task-definition cache answered (hit) or did not hold the revision (miss). */
  onSharedTaskDefinition?(outcome: 'hit' | 'miss' | 'written' | 'error'): void;
  /** This daemon's role changed: `lister`, `follower`, or `standalone` (S3 unreachable, own sync). */
  onRole?(role: FleetRole, holder: string | undefined): void;
  /** A snapshot was written (lister) or merged (follower); `startedAt` of its listing, epoch ms. */
  onSnapshot?(direction: 'written' | 'merged', startedAt: number, bytes: number): void;
  /** A conditional GET of the snapshot answered 304. */
  onSnapshotUnchanged?(): void;
  /** An S3 call of the fleet failed (the daemon falls back to its own sync). */
  onS3Error?(operation: string): void;
}

export type FleetRole = 'lister' | 'follower' | 'standalone';
