/**
 * The bundle from a local directory (NGINX_CONFIG_DIR), for development and for images that bake
 * the config in. Changes are noticed by `fs.watch` (recursive, where the platform supports it:
 * Linux since Node 20, macOS, Windows) debounced, because an editor's save or a `cp -r` is a burst
 * of events; and by a periodic content hash as a safety net, because watches are lossy (a directory
 * replaced by a rename, a bind mount updated from outside, inotify watch limits).
 */
import { type FSWatcher, watch } from 'node:fs';
import { resolve } from 'node:path';
import type { Logger } from '@ecs-ingress/types';
import { silentLogger } from '@ecs-ingress/types';
import { concatMap, debounceTime, filter, from, merge, Observable, Subject, takeUntil, timer } from 'rxjs';
import type { BundleCandidate, BundleSource, BundleSourceMetrics } from './sources.js';
import { copyTree, hashTree } from './tree.js';

export interface DirectoryBundleSourceOptions {
  dir: string;
  /** Quiet time after the last file event before the directory is hashed. Default 300 ms. */
  debounceMs?: number;
  /** The safety-net hash check. Default 10 s. */
  pollIntervalMs?: number;
  /** Set false to rely on the periodic check only. Default true. */
  watch?: boolean;
  logger?: Logger;
  metrics?: BundleSourceMetrics;
}

export class DirectoryBundleSource implements BundleSource {
  readonly candidates$: Observable<BundleCandidate>;
  readonly dir: string;
  private readonly logger: Logger;
  private readonly metrics: BundleSourceMetrics | undefined;
  private readonly stop$ = new Subject<void>();
  private lastId: string | undefined;

  constructor(options: DirectoryBundleSourceOptions) {
    this.dir = resolve(options.dir);
    this.logger = (options.logger ?? silentLogger).child({ component: 'bundle-source', source: 'directory' });
    this.metrics = options.metrics;
    const debounceMs = options.debounceMs ?? 300;
    const pollIntervalMs = options.pollIntervalMs ?? 10_000;
    const useWatch = options.watch ?? true;
    this.candidates$ = new Observable<BundleCandidate>((subscriber) => {
      const triggers$ = merge(
        useWatch ? this.fileEvents().pipe(debounceTime(debounceMs)) : new Observable<never>(),
        timer(0, pollIntervalMs),
      );
      return triggers$
        .pipe(
          // One check at a time, in order: an edit during a check gets its own check afterwards.
          concatMap(() => from(this.safeCheck())),
          filter((c): c is BundleCandidate => c !== undefined),
        )
        .subscribe(subscriber);
    }).pipe(takeUntil(this.stop$));
  }

  async check(): Promise<BundleCandidate | undefined> {
    let id: string;
    try {
      id = await hashTree(this.dir);
    } catch (error) {
      this.metrics?.bundleChecks.inc({ result: 'error' });
      throw error;
    }
    if (id === this.lastId) {
      this.metrics?.bundleChecks.inc({ result: 'unchanged' });
      return undefined;
    }
    this.lastId = id;
    this.metrics?.bundleChecks.inc({ result: 'changed' });
    this.logger.info({ dir: this.dir, bundleId: id }, 'config directory changed');
    const dir = this.dir;
    // The copy may see edits made after the hash; the watch then reports them and a new candidate
    // with the new id follows, so the tree that ends up live is the latest one.
    return {
      id,
      origin: dir,
      materialise: async (stagingDir, limits) => void (await copyTree(dir, stagingDir, limits)),
    };
  }

  forget(id: string): void {
    // The next check (a file event or the periodic one) hashes the tree and offers it again.
    if (id === this.lastId) this.lastId = undefined;
  }

  stop(): void {
    this.stop$.next();
    this.stop$.complete();
  }

  private async safeCheck(): Promise<BundleCandidate | undefined> {
    try {
      return await this.check();
    } catch (error) {
      this.logger.warn({ err: error, dir: this.dir }, 'config directory check failed; will retry');
      return undefined;
    }
  }

  /** Any change under the directory; errors (dir removed, no recursive support) end it quietly. */
  private fileEvents(): Observable<void> {
    return new Observable<void>((subscriber) => {
      let watcher: FSWatcher | undefined;
      try {
        watcher = watch(this.dir, { recursive: true, persistent: false }, () => subscriber.next());
        watcher.on('error', (error) => {
          this.logger.warn(
            { err: error, dir: this.dir },
            'directory watch failed; relying on periodic checks',
          );
          watcher?.close();
        });
      } catch (error) {
        this.logger.warn({ err: error, dir: this.dir }, 'cannot watch directory; relying on periodic checks');
      }
      return () => watcher?.close();
    });
  }
}
