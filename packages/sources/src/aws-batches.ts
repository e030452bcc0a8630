/** Small helpers the ECS sources share: call counting, chunking, bounded parallelism, failures[]. */
import type { Failure } from '@aws-sdk/client-ecs';
import type { Logger } from '@ecs-ingress/types';

/** DescribeTasks takes at most 100 tasks per call (the poller's listing and the health checker). */
export const DESCRIBE_TASKS_PER_CALL = 100;

/** Counts API calls by `service:Operation` for a sync's report. */
export class CallTally {
  private readonly counts = new Map<string, number>();

  /** @param signal aborts the calls made under this tally (a sync stopped by SIGTERM). */
  constructor(readonly signal?: AbortSignal) {}

  /** The SDK `send` options of a call under this tally. */
  get sendOptions(): { abortSignal?: AbortSignal } {
    return this.signal === undefined ? {} : { abortSignal: this.signal };
  }

  add(service: string, operation: string): void {
    const key = `${service}:${operation}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }

  get total(): number {
    let n = 0;
    for (const v of this.counts.values()) n += v;
    return n;
  }

  toRecord(): Record<string, number> {
    return Object.fromEntries([...this.counts.entries()].sort(([a], [b]) => a.localeCompare(b)));
  }
}

/** Logs a Describe* call's `failures[]`: MISSING (gone since it was listed) at debug, the rest at warn. */
export function logDescribeFailures(
  logger: Logger,
  operation: string,
  failures: readonly Failure[] | undefined,
): void {
  for (const f of failures ?? []) {
    const fields = { operation, arn: f.arn, reason: f.reason, detail: f.detail };
    if (f.reason === 'MISSING') logger.debug(fields, `${operation}: resource is gone`);
    else logger.warn(fields, `${operation} reported a failure`);
  }
}

/** Splits `items` into arrays of at most `size`. */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * Runs `fn` over `items` with at most `limit` in flight. After a failure no new item starts; the
 * ones in flight settle, then the first error is thrown (nothing is left running behind the caller).
 */
export async function mapLimit<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (failure === undefined && next < items.length) {
      const item = items[next++] as T;
      try {
        await fn(item);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw failure.error;
}
