/**
 * One listing of the cluster shared by a fleet (DESIGN.md "fleet"). Every renewal interval
 * (±20 % jitter) each daemon takes one lease step (lease.ts):
 * - the **lister** renews the lease; the supervisor's timer drives its full syncs, and each one is
 *   published as a gzip snapshot with its start time (on taking the lease over it lists at once);
 * - a **follower** reads the snapshot with a conditional GET (304 while unchanged) and merges a new
 *   one through the store exactly as a local listing: the same `snapshot` event, the same start
 *   time, so the store's merge rule keeps tasks that events reported after the listing began;
 * - **standalone**: S3 failed, so this daemon syncs by itself on the supervisor's (jittered) timer
 *   until S3 answers again.
 * This class is the supervisor's `FullSyncSource`: a follower's sync costs no ECS call while the
 * shared listing is fresh; when it is not, it waits up to one lease time (a dead lister is replaced
 * within it), then lists by itself.
 */
import type { Logger } from '@ecs-ingress/types';
import { EcsIngressError, silentLogger } from '@ecs-ingress/types';
import type { SyncReport } from '../ecs-poller.js';
import type { EcsReferenceResolver } from '../ecs-references.js';
import type { EventSink } from '../event-sink.js';
import { abortableSleep } from '../sleep.js';
import type { FullSyncSource } from '../source-supervisor.js';
import type { FleetHooks, FleetRole } from './fleet-hooks.js';
import type { FleetObjects } from './fleet-objects.js';
import { S3Lease } from './lease.js';
import { type ListingTap, listingOf, mergeListing, type ReferenceLookup } from './listing-tap.js';
import { decodeListing, encodeListing, type SharedListing, SNAPSHOT_OBJECT } from './snapshot-codec.js';

/**
 * The lease time in renewal intervals, at least. A holder renews at most every 1.2 intervals
 * (jitter) and a follower looks as often, so the ETag staleness threshold (lease − 3 intervals)
 * must stay ≥ 2 intervals for a live holder never to be judged dead; the takeover then comes at
 * most lease − 0.6 intervals after the last renewal, within one lease time.
 */
export const MIN_RENEWALS_PER_LEASE = 5;

export interface FleetSyncOptions {
  readonly poller: FullSyncSource & {
    readonly references: Pick<
      EcsReferenceResolver,
      'hasTaskDefinition' | 'hasContainerInstance' | 'resolveTaskDefinitions'
    >;
  };
  readonly tap: ListingTap;
  readonly sink: EventSink;
  readonly lookup: ReferenceLookup;
  readonly objects: FleetObjects;
  /** This daemon's identity in the lease (its EC2 instance id). */
  readonly identity: string;
  /** Lease step interval, ±20 % jitter. Default 10 s. */
  readonly renewIntervalMs?: number;
  /** Lease time; at least `MIN_RENEWALS_PER_LEASE` renewal intervals. Default 60 s. */
  readonly leaseMs?: number;
  /** A follower lists by itself when the shared listing is older. Default 5 min + the lease time. */
  readonly maxSnapshotAgeMs?: number;
  readonly hooks?: FleetHooks;
  readonly logger?: Logger;
  readonly now?: () => number;
  readonly random?: () => number;
}

export interface FleetStatus {
  readonly identity: string;
  readonly role: FleetRole | 'starting';
  readonly holder: string | undefined;
  /** When this daemon last became the lister (epoch ms), if it is the lister. */
  readonly listerSince: number | undefined;
  readonly leaseMs: number;
  readonly renewIntervalMs: number;
  readonly snapshot:
    | {
        readonly startedAt: number;
        readonly writtenBy: string;
        readonly etag: string;
        readonly tasks: number;
      }
    | undefined;
}

export class FleetSync implements FullSyncSource {
  private readonly o: FleetSyncOptions;
  private readonly lease: S3Lease;
  private readonly logger: Logger;
  private readonly hooks: FleetHooks;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly renewMs: number;
  private readonly leaseMs: number;
  private readonly maxAgeMs: number;
  private role: FleetRole | 'starting' = 'starting';
  private holder: string | undefined;
  private snapshot: (FleetStatus['snapshot'] & { report: SyncReport }) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private ticking: Promise<void> | undefined;
  private publishing: Promise<SyncReport> | undefined;
  private listingFailed = false;
  private listerSince: number | undefined;
  /** Aborted by stop(): the lease, listing and snapshot S3 calls (and the lister's ECS listing) in flight. */
  private abort = new AbortController();

  constructor(options: FleetSyncOptions) {
    this.o = options;
    this.renewMs = options.renewIntervalMs ?? 10_000;
    this.leaseMs = options.leaseMs ?? 60_000;
    if (!(this.renewMs > 0) || !(this.leaseMs >= MIN_RENEWALS_PER_LEASE * this.renewMs)) {
      throw new RangeError(
        `lease time (${this.leaseMs} ms) must be at least ${MIN_RENEWALS_PER_LEASE} renewal intervals (${this.renewMs} ms)`,
      );
    }
    this.maxAgeMs = options.maxSnapshotAgeMs ?? 5 * 60_000 + this.leaseMs;
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.hooks = options.hooks ?? {};
    this.logger = (options.logger ?? silentLogger).child({ component: 'fleet' });
    // A holder renews at most every 1.2 renewal intervals (jitter), and we look at most that often:
    // an ETag unchanged for lease − 3 intervals (≥ 2 intervals, so a live holder is never judged
    // stale) is taken over at most lease − 0.6 intervals after the holder's last renewal.
    this.lease = new S3Lease({
      objects: options.objects,
      identity: options.identity,
      leaseMs: this.leaseMs - 3 * this.renewMs,
      now: this.now,
    });
  }

  status(): FleetStatus {
    const s = this.snapshot;
    return {
      identity: this.o.identity,
      role: this.role,
      holder: this.holder,
      listerSince: this.role === 'lister' ? this.listerSince : undefined,
      leaseMs: this.leaseMs,
      renewIntervalMs: this.renewMs,
      snapshot: s && { startedAt: s.startedAt, writtenBy: s.writtenBy, etag: s.etag, tasks: s.tasks },
    };
  }

  /** Starts the lease loop. */
  start(): void {
    if (this.abort.signal.aborted) this.abort = new AbortController();
    this.stopped = false;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.lease.release();
    await this.ticking;
    await this.publishing?.catch(() => {});
  }

  async fullSync(signal?: AbortSignal): Promise<SyncReport> {
    if (this.stopped) throw new FleetStoppedError();
    if (this.role === 'starting') await this.tick();
    if (this.role === 'lister') return this.listAndPublish();
    if (this.role === 'follower') {
      // A live lister may take a while to list a large cluster for the first time: wait for its
      // listing while its lease holds (a dead one is replaced within a lease time), at most as long
      // as a listing stays fresh; S3 failing ends the wait at once.
      const deadline = this.now() + this.maxAgeMs;
      for (;;) {
        const fresh = this.freshReport();
        if (fresh) return fresh;
        if (this.stopped) throw new FleetStoppedError();
        if ((this.role as FleetRole) !== 'follower' || this.now() >= deadline) break;
        await this.tick();
        if (this.freshReport() === undefined)
          await abortableSleep(Math.min(this.renewMs, deadline - this.now()), this.abort.signal);
      }
      if ((this.role as FleetRole) === 'lister') return this.listAndPublish();
      this.logger.warn(
        { holder: this.holder },
        'no fresh shared listing within one lease time; listing by ourselves',
      );
    }
    return this.o.poller.fullSync(signal);
  }

  private freshReport(): SyncReport | undefined {
    const s = this.snapshot;
    return s && this.now() - s.startedAt <= this.maxAgeMs ? s.report : undefined;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.tick().finally(() => this.schedule(this.renewMs * (0.8 + 0.4 * this.random())));
    }, delayMs);
    this.timer.unref?.();
  }

  /** One lease step, then (follower) one conditional read of the listing. Never throws. */
  private tick(): Promise<void> {
    this.ticking ??= this.step().finally(() => {
      this.ticking = undefined;
    });
    return this.ticking;
  }

  private async step(): Promise<void> {
    if (this.role === 'lister' && this.listingFailed) {
      // Our listing fails (ECS throttles or refuses us): stop renewing so another daemon, whose
      // listing may work, takes over after one lease time.
      this.lease.release();
      this.listingFailed = false;
      this.setRole('follower', undefined);
      return;
    }
    let acquired = false;
    try {
      const status = await this.lease.step(this.abort.signal);
      this.setRole(status.role, status.holder);
      acquired = status.acquired;
    } catch (err) {
      if (this.stopped) return;
      this.hooks.onS3Error?.('lease');
      if (this.role !== 'standalone')
        this.logger.warn({ err }, 'S3 unreachable for the fleet lease; syncing by ourselves');
      this.setRole('standalone', undefined);
      return;
    }
    if (this.role === 'lister') {
      // Taken over (or created): list now rather than at the next resync, so the fleet's listing
      // is never older than a lease time plus one sync.
      if (acquired && !this.stopped)
        void this.listAndPublish().catch((err: unknown) =>
          this.logger.warn({ err }, 'listing as the new lister failed'),
        );
      return;
    }
    try {
      await this.follow();
    } catch (err) {
      if (this.stopped) return;
      this.hooks.onS3Error?.('GetObject');
      this.logger.warn({ err }, 'shared listing unreadable; syncing by ourselves');
      this.setRole('standalone', this.holder);
    }
  }

  private setRole(role: FleetRole, holder: string | undefined): void {
    if (role !== this.role || holder !== this.holder) {
      if (role === 'lister' && this.role !== 'lister') this.listerSince = this.now();
      if (role !== this.role) this.logger.info({ role, holder, previous: this.role }, 'fleet role');
      this.role = role;
      this.holder = holder;
      this.hooks.onRole?.(role, holder);
    }
  }

  /** Reads the listing if it changed and merges it into the store. */
  private async follow(): Promise<void> {
    const got = await this.o.objects.get(SNAPSHOT_OBJECT, this.snapshot?.etag, this.abort.signal);
    if (got === 'unchanged') {
      this.hooks.onSnapshotUnchanged?.();
      return;
    }
    if (got === undefined) return;
    let listing: SharedListing;
    try {
      listing = decodeListing(got.body);
    } catch (err) {
      this.hooks.onS3Error?.('decode');
      this.logger.warn({ err, etag: got.etag }, 'shared listing does not decode; ignored');
      return;
    }
    if (this.snapshot && listing.startedAt <= this.snapshot.startedAt) return;
    const report = await mergeListing(listing, this.o.sink, this.o.poller.references, this.now());
    this.snapshot = {
      startedAt: listing.startedAt,
      writtenBy: listing.writtenBy,
      etag: got.etag,
      tasks: listing.tasks.length,
      report,
    };
    this.hooks.onSnapshot?.('merged', listing.startedAt, got.body.length);
  }

  /** The lister's sync: the poller's full listing, then published. Single flight. */
  private listAndPublish(): Promise<SyncReport> {
    this.publishing ??= this.runListing().finally(() => {
      this.publishing = undefined;
    });
    return this.publishing;
  }

  private async runListing(): Promise<SyncReport> {
    let report: SyncReport;
    try {
      report = await this.o.poller.fullSync(this.abort.signal);
      this.listingFailed = false;
    } catch (err) {
      this.listingFailed = true;
      throw err;
    }
    const snap = this.o.tap.last;
    if (!snap || snap.startedAt !== report.startedAt || !this.lease.isHeld) return report;
    const listing = listingOf(snap, this.o.lookup, this.o.identity);
    const body = encodeListing(listing);
    try {
      const out = await this.o.objects.put(SNAPSHOT_OBJECT, body, undefined, {
        contentType: 'application/gzip',
        signal: this.abort.signal,
      });
      if (out.ok) {
        this.snapshot = {
          startedAt: snap.startedAt,
          writtenBy: this.o.identity,
          etag: out.etag,
          tasks: snap.tasks.length,
          report,
        };
        this.hooks.onSnapshot?.('written', snap.startedAt, body.length);
      }
    } catch (err) {
      if (this.stopped) return report;
      this.hooks.onS3Error?.('PutObject');
      this.logger.warn({ err }, 'shared listing not written; followers keep the previous one');
    }
    return report;
  }
}

/** A sync asked of a stopped fleet member (the supervisor retries it, or is stopping too). */
export class FleetStoppedError extends EcsIngressError {
  constructor() {
    super('ECS_INGRESS_FLEET_STOPPED', 'the fleet sync is stopped');
  }
}
