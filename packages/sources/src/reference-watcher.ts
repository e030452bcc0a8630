/**
 * References on demand (DESIGN.md "The store"): whenever the store holds a task that would route
 * but for a task definition, a container instance or the EC2 address behind it, or a service
 * publishing routes whose `createdAt` (route seniority) it lacks, fetch exactly that, at once, instead of waiting for the next full sync. A rolling deployment to a new
 * revision learned from events alone thus routes within one API round trip of its RUNNING event.
 *
 * After each burst of store changes (the dispatches of one SQS receive, say) the watcher asks the
 * derivation what is missing and hands it to the shared resolver, which batches, bounds, de-dupes
 * and negative-caches (ecs-references.ts). What it fetches goes through the store like any other
 * observation (and into `record`ings, through the resolver's observation hook). When something
 * still missing waits in the negative cache, a timer looks again once its backoff ends.
 *
 * Cheap in a storm: a check costs one derivation (memoised per task-map chunk), and the next one
 * waits at least 4 × the duration of the last, so checking takes at most ~20 % of the time.
 */
import { type Logger, silentLogger } from '@ecs-ingress/types';
import type { Observable, Subscription } from 'rxjs';
import { CallTally } from './aws-batches.js';
import type { EcsReferenceResolver } from './ecs-references.js';

/** What routable tasks need and the store lacks. */
export interface MissingReferences {
  readonly missingTaskDefinitions: readonly string[];
  readonly missingContainerInstances: readonly string[];
  /** Names of services publishing routes whose `createdAt` (seniority) the store lacks. */
  readonly missingServices?: readonly string[];
}

export interface ReferenceWatcherOptions<S> {
  /** The store's states. */
  readonly state$: Observable<S>;
  /** What a state lacks (the derivation's `missing*` lists). */
  readonly missing: (state: S) => MissingReferences;
  readonly references: Pick<
    EcsReferenceResolver,
    'resolveTaskDefinitions' | 'resolveContainerInstances' | 'resolveServices' | 'nextRetryAt'
  >;
  readonly logger?: Logger;
  /** Each lookup round's API calls (benchmarks, tests). */
  readonly onCalls?: (calls: Readonly<Record<string, number>>) => void;
  readonly now?: () => number;
}

export class ReferenceWatcher<S> {
  private readonly o: ReferenceWatcherOptions<S>;
  private readonly logger: Logger;
  private readonly now: () => number;
  private subscription: Subscription | undefined;
  private latest: { value: S } | undefined;
  private checkTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryAt = 0;
  private readonly rounds = new Set<Promise<void>>();
  private lastCheckEnd = 0;
  private lastCheckMs = 0;
  private stopped = false;
  /** Aborts lookups in flight at stop(): SIGTERM must not wait for a slow ECS. */
  private readonly abort = new AbortController();

  constructor(options: ReferenceWatcherOptions<S>) {
    this.o = options;
    this.logger = (options.logger ?? silentLogger).child({ component: 'reference-watcher' });
    this.now = options.now ?? Date.now;
  }

  /** Starts watching (checks the current state at once). Idempotent. */
  start(): void {
    if (this.subscription !== undefined || this.stopped) return;
    this.subscription = this.o.state$.subscribe((value) => {
      this.latest = { value };
      this.schedule();
    });
  }

  /** Stops watching, aborts lookups in flight and waits for them to settle. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    this.subscription?.unsubscribe();
    clearTimeout(this.checkTimer);
    clearTimeout(this.retryTimer);
    while (this.rounds.size > 0) await Promise.allSettled([...this.rounds]);
  }

  /** One check after the current burst of dispatches (the ones of one SQS receive run synchronously). */
  private schedule(): void {
    if (this.checkTimer !== undefined || this.stopped) return;
    const wait = Math.max(0, this.lastCheckEnd + 4 * this.lastCheckMs - this.now());
    this.checkTimer = setTimeout(() => {
      this.checkTimer = undefined;
      this.check();
    }, wait);
  }

  private check(): void {
    if (this.stopped || this.latest === undefined) return;
    const started = this.now();
    const missing = this.o.missing(this.latest.value);
    this.lastCheckEnd = this.now();
    this.lastCheckMs = this.lastCheckEnd - started;
    const definitions = missing.missingTaskDefinitions;
    const instances = missing.missingContainerInstances;
    const services = missing.missingServices ?? [];
    if (definitions.length === 0 && instances.length === 0 && services.length === 0) return;
    const tally = new CallTally(this.abort.signal);
    const round = Promise.all([
      this.o.references.resolveTaskDefinitions(definitions, tally),
      this.o.references.resolveContainerInstances(instances, tally),
      this.o.references.resolveServices(services, tally),
    ])
      .then(
        ([fetched, resolved, described]) => {
          if (fetched + resolved + described > 0)
            this.logger.info(
              {
                taskDefinitions: fetched,
                containerInstances: resolved,
                services: described,
                calls: tally.toRecord(),
              },
              'references fetched on demand',
            );
        },
        (err: unknown) => {
          // Aborted by stop(): not a failure worth a line.
          if (this.stopped) return;
          this.logger.warn(
            { err, code: (err as { code?: unknown }).code, calls: tally.toRecord() },
            'fetching references on demand failed; retrying after a backoff',
          );
        },
      )
      .finally(() => {
        this.rounds.delete(round);
        if (tally.total > 0) this.o.onCalls?.(tally.toRecord());
        this.armRetry([...definitions, ...instances, ...services]);
      });
    this.rounds.add(round);
  }

  /** What is still missing and waits in the negative cache is looked at again when its backoff ends. */
  private armRetry(arns: readonly string[]): void {
    if (this.stopped) return;
    const at = this.o.references.nextRetryAt(arns);
    // One timer, for the earliest retry: a check then re-arms it for what still waits.
    if (at === undefined || (this.retryTimer !== undefined && this.retryAt <= at)) return;
    clearTimeout(this.retryTimer);
    this.retryAt = at;
    this.retryTimer = setTimeout(
      () => {
        this.retryTimer = undefined;
        this.schedule();
      },
      Math.max(0, at - this.now()) + 10,
    );
    this.retryTimer.unref?.();
  }
}
