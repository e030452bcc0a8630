/**
 * Lister election by one S3 object (DESIGN.md "fleet"): conditional writes make S3 the referee.
 * - absent → create it with `If-None-Match: *` (of concurrent takers exactly one gets 200, the
 *   others 412);
 * - ours → renew it with `If-Match: <etag>` every renewal interval (a 412 means someone took over);
 * - someone else's, unchanged for a whole lease time on our own clock → take it over with
 *   `If-Match: <the etag we saw>` (again, one winner).
 * Staleness is judged by how long we have seen the same ETag, never by comparing the holder's
 * clock with ours, so clock skew between hosts cannot elect two listers. A holder restarted with
 * the same identity (instance id) takes its lease back at once.
 */
import type { FleetObjects } from './fleet-objects.js';

export const LEASE_OBJECT = 'lister-lease.json';

export interface LeaseRecord {
  readonly holder: string;
  /** Holder's clock, epoch ms (diagnostics only: staleness uses the reader's clock). */
  readonly renewedAt: number;
  readonly leaseMs: number;
  /** Increments on every write, so every renewal changes the ETag. */
  readonly term: number;
}

export type LeaseAction = 'create' | 'renew' | 'takeover' | 'follow';

/** What a reader remembers of the lease: the ETag and when it first saw it (local clock). */
export interface LeaseSighting {
  readonly etag: string;
  readonly firstSeenAt: number;
}

/** Pure: what to do given the lease as read. */
export function decideLease(input: {
  readonly current: { readonly etag: string; readonly record: LeaseRecord | undefined } | undefined;
  readonly me: string;
  readonly now: number;
  readonly leaseMs: number;
  readonly sighting: LeaseSighting | undefined;
}): LeaseAction {
  const { current, me, now, leaseMs, sighting } = input;
  if (current === undefined) return 'create';
  if (current.record?.holder === me) return 'renew';
  if (sighting?.etag === current.etag && now - sighting.firstSeenAt >= leaseMs) return 'takeover';
  return 'follow';
}

/** Pure: a lease body, `undefined` when it does not parse (treated as someone else's, then stale). */
export function parseLeaseRecord(body: Uint8Array): LeaseRecord | undefined {
  try {
    const v = JSON.parse(Buffer.from(body).toString('utf8')) as Partial<LeaseRecord>;
    if (typeof v.holder !== 'string' || typeof v.renewedAt !== 'number' || typeof v.term !== 'number')
      return undefined;
    return { holder: v.holder, renewedAt: v.renewedAt, leaseMs: Number(v.leaseMs), term: v.term };
  } catch {
    return undefined;
  }
}

export interface LeaseStatus {
  readonly role: 'lister' | 'follower';
  /** The holder as last read or written. */
  readonly holder: string | undefined;
  /** True when this step made us the lister (created or took over). */
  readonly acquired: boolean;
}

export interface S3LeaseOptions {
  readonly objects: FleetObjects;
  /** This daemon's identity (its EC2 instance id). */
  readonly identity: string;
  /** How long an unrenewed lease stays valid; a few renewal intervals. */
  readonly leaseMs: number;
  readonly now?: () => number;
}

export class S3Lease {
  private readonly now: () => number;
  private sighting: LeaseSighting | undefined;
  private term = 0;
  private held = false;
  private resigned = false;

  constructor(private readonly o: S3LeaseOptions) {
    this.now = o.now ?? Date.now;
  }

  get isHeld(): boolean {
    return this.held;
  }

  /**
   * One read and at most one conditional write.
   * @param signal aborts the S3 calls (the daemon is stopping)
   * @throws on S3 errors (the caller falls back) and when aborted
   */
  async step(signal?: AbortSignal): Promise<LeaseStatus> {
    const read = await this.o.objects.get(LEASE_OBJECT, undefined, signal);
    const current =
      read === undefined || read === 'unchanged'
        ? undefined
        : { etag: read.etag, record: parseLeaseRecord(read.body) };
    const now = this.now();
    if (current && current.etag !== this.sighting?.etag)
      this.sighting = { etag: current.etag, firstSeenAt: now };
    let action = decideLease({
      current,
      me: this.o.identity,
      now,
      leaseMs: this.o.leaseMs,
      sighting: this.sighting,
    });
    if (action === 'renew' && this.resigned) {
      // Ours but given up: left to the others, taken back only if nobody took it in a lease time.
      const stale = this.sighting !== undefined && now - this.sighting.firstSeenAt >= this.o.leaseMs;
      action = stale ? 'takeover' : 'follow';
    }
    if (action === 'follow') {
      this.held = false;
      return { role: 'follower', holder: current?.record?.holder, acquired: false };
    }
    this.term = Math.max(this.term, current?.record?.term ?? 0) + 1;
    const body = JSON.stringify({
      holder: this.o.identity,
      renewedAt: now,
      leaseMs: this.o.leaseMs,
      term: this.term,
    } satisfies LeaseRecord);
    const written = await this.o.objects.put(
      LEASE_OBJECT,
      body,
      current === undefined ? { ifNoneMatch: '*' } : { ifMatch: current.etag },
      signal ? { signal } : {},
    );
    if (!written.ok) {
      // Someone else wrote first: they hold it now.
      this.held = false;
      this.sighting = undefined;
      return { role: 'follower', holder: undefined, acquired: false };
    }
    const acquired = !this.held;
    this.held = true;
    this.resigned = false;
    this.sighting = { etag: written.etag, firstSeenAt: now };
    return { role: 'lister', holder: this.o.identity, acquired };
  }

  /**
   * Stops renewing (at shutdown, or when our listing fails): the others take the lease over once
   * it has been unchanged for a lease time; we take it back only if none of them did.
   */
  release(): void {
    this.held = false;
    this.resigned = true;
  }
}
