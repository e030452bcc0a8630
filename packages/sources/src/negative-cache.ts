/**
 * The negative cache of the reference resolver: identifiers whose last lookup failed, and when
 * they may be asked for again. A failure doubles the wait (with ±20 % jitter, so daemons spread
 * out) up to a cap, so a bad ARN costs a handful of calls an hour, never one per poll or event.
 *
 * - `permanent`: ECS refused the identifier (ClientException, MISSING), answered something that
 *   does not parse, or the instance has no private IP. Retried rarely (1 min doubling to 1 h):
 *   a permission can be granted, an instance can get its address.
 * - `transient`: throttling, 5xx, network (1 s doubling to 1 min).
 *
 * Bounded: at most `maxEntries` identifiers (the oldest entry goes first), and `retainOnly` drops
 * the ones no full listing refers to any more.
 */
export type FailureKind = 'permanent' | 'transient';

export interface BackoffPolicy {
  readonly initialMs: number;
  readonly maxMs: number;
}

export interface NegativeCacheOptions {
  readonly permanent?: BackoffPolicy;
  readonly transient?: BackoffPolicy;
  readonly maxEntries?: number;
  readonly now?: () => number;
  /** Jitter source, [0, 1). Default Math.random. */
  readonly random?: () => number;
}

interface Entry {
  readonly failures: number;
  readonly retryAt: number;
  readonly kind: FailureKind;
}

const DEFAULT_PERMANENT_BACKOFF: BackoffPolicy = { initialMs: 60_000, maxMs: 60 * 60_000 };
const DEFAULT_TRANSIENT_BACKOFF: BackoffPolicy = { initialMs: 1_000, maxMs: 60_000 };

export class NegativeCache {
  private readonly entries = new Map<string, Entry>();
  private readonly policies: Readonly<Record<FailureKind, BackoffPolicy>>;
  private readonly maxEntries: number;
  private readonly now: () => number;
  private readonly random: () => number;

  constructor(options: NegativeCacheOptions = {}) {
    this.policies = {
      permanent: options.permanent ?? DEFAULT_PERMANENT_BACKOFF,
      transient: options.transient ?? DEFAULT_TRANSIENT_BACKOFF,
    };
    this.maxEntries = Math.max(1, options.maxEntries ?? 10_000);
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
  }

  /** True while `key` failed and its wait has not run out. */
  blocked(key: string): boolean {
    const entry = this.entries.get(key);
    return entry !== undefined && entry.retryAt > this.now();
  }

  /** When `key` may be asked for again (epoch ms), if it is waiting. */
  retryAt(key: string): number | undefined {
    const entry = this.entries.get(key);
    return entry !== undefined && entry.retryAt > this.now() ? entry.retryAt : undefined;
  }

  /**
   * Records a failure of `key`.
   * @returns the wait before the next attempt, ms; `first` is true on the first failure in a row
   */
  fail(key: string, kind: FailureKind): { waitMs: number; first: boolean } {
    const previous = this.entries.get(key);
    // A permanent failure after transient ones starts its own, longer, schedule.
    const failures = previous !== undefined && previous.kind === kind ? previous.failures + 1 : 1;
    const policy = this.policies[kind];
    const base = Math.min(policy.maxMs, policy.initialMs * 2 ** Math.min(failures - 1, 30));
    const waitMs = Math.round(base * (0.8 + 0.4 * this.random()));
    this.entries.delete(key);
    this.entries.set(key, { failures, retryAt: this.now() + waitMs, kind });
    if (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    return { waitMs, first: previous === undefined };
  }

  /** Forgets `key` (its lookup succeeded). */
  clear(key: string): void {
    this.entries.delete(key);
  }

  /** Drops every entry whose key `keep` rejects. */
  retainOnly(keep: (key: string) => boolean): void {
    for (const key of this.entries.keys()) if (!keep(key)) this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }
}

/** At most `limit` calls of `run` in flight, process-wide for one resolver; the rest wait in order. */
export class ConcurrencyLimit {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  async run<T>(fn: () => Promise<T>): Promise<T> {
    // A finished call hands its slot straight to the next waiter, so `active` never overshoots.
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active++;
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next !== undefined) next();
      else this.active--;
    }
  }
}
