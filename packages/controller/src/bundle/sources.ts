/**
 * Where config bundles come from. A source only notices that the bundle changed and offers a
 * candidate; validating and activating it is the BundleManager's job.
 */

import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '@ecs-ingress/types';
import { silentLogger } from '@ecs-ingress/types';
import { Observable, Subject, takeUntil } from 'rxjs';
import type { ExtractLimits } from './extract.js';
import { copyTree, hashTree } from './tree.js';

/** A bundle that a source found: identified by content, materialised on demand. */
export interface BundleCandidate {
  /** Short content hash (16 hex chars): equal ids mean equal bundles. */
  readonly id: string;
  /** Human-readable provenance: `s3://bucket/key@"etag"`, a directory path, or `default:<dir>`. */
  readonly origin: string;
  /**
   * Writes the bundle's tree into `stagingDir` (missing or empty), enforcing `limits` (including
   * `limits.mainFile`). Rejects with `BundleRejectedError` for a bad bundle.
   */
  materialise(stagingDir: string, limits: ExtractLimits): Promise<void>;
}

/** The metrics a source counts into (a subset of `Metrics`, so tests can hand in their own). */
export interface BundleSourceMetrics {
  /** result: unchanged, changed, error. */
  readonly bundleChecks: { inc(labels: { result: 'unchanged' | 'changed' | 'error' }): void };
}

export interface BundleSource {
  /**
   * One check now: a candidate when the bundle changed since the last check (the first check
   * always finds one), `undefined` when unchanged. Throws when the check itself failed (network,
   * permissions): the caller decides, e.g. start-up falls back to the last known good bundle.
   */
  check(): Promise<BundleCandidate | undefined>;
  /**
   * Candidates as the source finds them (checks run on subscription, then on the source's own
   * schedule; failed checks are logged and counted, never end the stream). Completes on `stop()`.
   */
  readonly candidates$: Observable<BundleCandidate>;
  /**
   * The candidate `id` could not be applied for a reason that is not the bundle's (an I/O error
   * while materialising it, a disk error flipping `current`): the next check offers it again
   * instead of treating it as seen. No effect when `id` is not the last candidate offered.
   */
  forget(id: string): void;
  stop(): void;
}

/**
 * Repeats `check` every `intervalMs` (measured from the end of the previous check, so checks never
 * overlap), emitting what it finds, until unsubscribed or `stop$` fires.
 */
export function pollCandidates(
  check: () => Promise<BundleCandidate | undefined>,
  intervalMs: number,
  stop$: Observable<void>,
  onError: (error: unknown) => void,
): Observable<BundleCandidate> {
  return new Observable<BundleCandidate>((subscriber) => {
    let active = true;
    let timer: NodeJS.Timeout | undefined;
    const tick = async (): Promise<void> => {
      try {
        const candidate = await check();
        if (candidate !== undefined && active) subscriber.next(candidate);
      } catch (error) {
        if (active) onError(error);
      }
      if (active) timer = setTimeout(() => void tick(), intervalMs);
    };
    void tick();
    return () => {
      active = false;
      if (timer !== undefined) clearTimeout(timer);
    };
  }).pipe(takeUntil(stop$));
}

/** The built-in config shipped with the package (`packages/controller/default-bundle`). */
export const DEFAULT_BUNDLE_DIR = fileURLToPath(new URL('../../default-bundle/', import.meta.url));
/** The upstreams path written in the default bundle's nginx.conf; replaced by the configured one. */
export const DEFAULT_UPSTREAMS_FILE = '/app/nginx/upstreams.conf';
/**
 * The built-in config for dynamic upstream mode (`packages/controller/default-bundle-dynamic`): it
 * includes `/app/nginx/ecs-ingress-dynamic.conf` and `/app/nginx/upstreams.http.conf`, which the
 * caller maps to the configured files with `replacements`.
 */
export const DEFAULT_DYNAMIC_BUNDLE_DIR = fileURLToPath(
  new URL('../../default-bundle-dynamic/', import.meta.url),
);

export interface DefaultBundleSourceOptions {
  /** The upstreams file the config must include. Default `/app/nginx/upstreams.conf`. */
  upstreamsFile?: string;
  /** Default: the package's `default-bundle` directory. */
  dir?: string;
  /** The main file name (NGINX_CONFIG_FILE_NAME); the default bundle's is `nginx.conf`. */
  mainFileName?: string;
  /** More paths to replace in the main file (written path → configured path), e.g. dynamic mode's. */
  replacements?: Readonly<Record<string, string>>;
  logger?: Logger;
}

/**
 * Used when neither S3 nor a directory is configured: a status page on port 80 that proxies
 * nothing, with the upstreams file included in `http` and `stream` like any user bundle. Emits
 * one candidate and completes.
 */
export class DefaultBundleSource implements BundleSource {
  readonly candidates$: Observable<BundleCandidate>;
  private readonly dir: string;
  private readonly upstreamsFile: string;
  private readonly mainFileName: string;
  private readonly replacements: Readonly<Record<string, string>>;
  private readonly stop$ = new Subject<void>();
  private offered = false;
  private offeredId: string | undefined;

  constructor(options: DefaultBundleSourceOptions = {}) {
    this.dir = options.dir ?? DEFAULT_BUNDLE_DIR;
    this.upstreamsFile = options.upstreamsFile ?? DEFAULT_UPSTREAMS_FILE;
    this.mainFileName = options.mainFileName ?? 'nginx.conf';
    this.replacements = { [DEFAULT_UPSTREAMS_FILE]: this.upstreamsFile, ...options.replacements };
    const logger = (options.logger ?? silentLogger).child({ component: 'bundle-source', source: 'default' });
    this.candidates$ = new Observable<BundleCandidate>((subscriber) => {
      this.check().then(
        (candidate) => {
          if (candidate !== undefined) subscriber.next(candidate);
          subscriber.complete();
        },
        (error: unknown) => {
          logger.error({ err: error }, 'cannot read the built-in default bundle');
          subscriber.complete();
        },
      );
    }).pipe(takeUntil(this.stop$));
  }

  async check(): Promise<BundleCandidate | undefined> {
    if (this.offered) return undefined;
    const id = await hashTree(this.dir, {}, `upstreams=${JSON.stringify(this.replacements)}`);
    this.offered = true;
    this.offeredId = id;
    const { dir, replacements, mainFileName } = this;
    return {
      id,
      origin: `default:${dir}`,
      async materialise(stagingDir, limits) {
        await copyTree(dir, stagingDir, limits);
        const main = join(stagingDir, mainFileName);
        const text = await readFile(main, 'utf8');
        let replaced = text;
        for (const [from, to] of Object.entries(replacements)) replaced = replaced.replaceAll(from, to);
        await writeFile(main, replaced);
      },
    };
  }

  forget(id: string): void {
    // candidates$ has completed by then; a later check() (a restart of the watch) offers it again.
    if (id === this.offeredId) this.offered = false;
  }

  stop(): void {
    this.stop$.next();
    this.stop$.complete();
  }
}
