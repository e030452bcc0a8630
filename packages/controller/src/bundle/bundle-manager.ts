/**
 * Stages, validates, activates and rolls back config bundles on disk (layout in ./index.ts).
 *
 * stage:    materialise into <workDir>/staging/<id>, `nginx -t` on <staging>/<main> (which includes
 *           the CURRENT upstreams file at its absolute path), then rename to <workDir>/bundles/<id>.
 *           A refusal moves the tree to <workDir>/rejected/<id>-<reason>/ (the last few are kept),
 *           logs NGINX's own lines, counts, and remembers the id: the same bundle is not tried again.
 * activate: flips <workDir>/current with a new symlink renamed over the old one (rename(2) replaces
 *           the link atomically: NGINX reading `current/...` sees the old tree or the new one, never
 *           a mix or nothing). The caller reloads NGINX, then confirm()s or revert()s.
 */
import { lstat, mkdir, readdir, readlink, rename, rm, stat, symlink, utimes } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Logger } from '@ecs-ingress/types';
import { silentLogger } from '@ecs-ingress/types';
import { BundleRejectedError } from './errors.js';
import type { ExtractLimits } from './extract.js';
import type { BundleCandidate } from './sources.js';

/** `nginx -t -c <confPath>` with the runtime's prefix; `errors` are NGINX's emerg/alert/crit lines. */
export type BundleTester = (confPath: string) => Promise<{ ok: boolean; output: string; errors: string[] }>;

/** The metrics the manager counts into (a subset of `Metrics`). */
export interface BundleManagerMetrics {
  /** result: success (confirmed live), failed (refused, or reverted after a failed reload). */
  readonly bundleApplies: { inc(labels: { result: 'success' | 'failed' }): void };
  readonly configTestFailures: { inc(): void };
}

export interface BundleManagerOptions {
  workDir: string;
  /** NGINX_CONFIG_FILE_NAME. Default `nginx.conf`. */
  mainFileName?: string;
  /** The absolute path of the upstreams file the bundle includes (informational: used in messages). */
  upstreamsFile: string;
  tester: BundleTester;
  /** File count and size limits for materialising (mainFile is added by the manager). */
  limits?: Omit<ExtractLimits, 'mainFile'>;
  /** Rejected trees kept for inspection. Default 5. */
  keepRejected?: number;
  /** Rejected ids remembered (not retried). Default 100. */
  rememberRejected?: number;
  logger?: Logger;
  metrics?: BundleManagerMetrics;
}

/** A validated bundle under <workDir>/bundles/<id>. */
export interface StagedBundle {
  readonly id: string;
  /** <workDir>/bundles/<id> */
  readonly dir: string;
  /** <workDir>/bundles/<id>/<main>; NGINX itself is pointed at <workDir>/current/<main>. */
  readonly mainFile: string;
  /** Where it came from, when known (unknown for a bundle found on disk at start-up). */
  readonly origin?: string;
}

/** The result of `activate`: the caller reloads NGINX, then calls exactly one of these. */
export interface ActivatedBundle {
  readonly bundle: StagedBundle;
  /** What `current` pointed at before, if anything. */
  readonly previous: StagedBundle | undefined;
  /** NGINX runs the new bundle: count it, prune bundle dirs other than this one and the previous. */
  confirm(): Promise<void>;
  /**
   * The reload failed: point `current` back at the previous bundle, keep the new tree under
   * rejected/, and remember its id so it is not retried until the bundle changes.
   */
  revert(error?: Error): Promise<void>;
}

export class BundleManager {
  readonly workDir: string;
  readonly mainFileName: string;
  private readonly upstreamsFile: string;
  private readonly tester: BundleTester;
  private readonly limits: Omit<ExtractLimits, 'mainFile'>;
  private readonly keepRejected: number;
  private readonly rememberRejected: number;
  private readonly logger: Logger;
  private readonly metrics: BundleManagerMetrics | undefined;
  /** id → why it was refused; insertion order = age. */
  private readonly rejected = new Map<string, BundleRejectedError>();
  private tempSeq = 0;

  constructor(options: BundleManagerOptions) {
    this.workDir = resolve(options.workDir);
    this.mainFileName = options.mainFileName ?? 'nginx.conf';
    this.upstreamsFile = options.upstreamsFile;
    this.tester = options.tester;
    this.limits = options.limits ?? {};
    this.keepRejected = options.keepRejected ?? 5;
    this.rememberRejected = options.rememberRejected ?? 100;
    this.logger = (options.logger ?? silentLogger).child({ component: 'bundle' });
    this.metrics = options.metrics;
  }

  /** <workDir>/current: the symlink NGINX's `-c <workDir>/current/<main>` goes through. */
  get currentLink(): string {
    return join(this.workDir, 'current');
  }

  /** <workDir>/current/<main>: the `-c` argument for NGINX. */
  get configFile(): string {
    return join(this.currentLink, this.mainFileName);
  }

  /** The refusal remembered for this bundle id, if it was refused before. */
  rejectionOf(id: string): BundleRejectedError | undefined {
    return this.rejected.get(id);
  }

  /**
   * The active bundle: `current` is a symlink to a directory under bundles/ that holds the main
   * file. Anything else (missing, dangling, a plain directory) is "no last known good".
   */
  async current(): Promise<StagedBundle | undefined> {
    let target: string;
    try {
      if (!(await lstat(this.currentLink)).isSymbolicLink()) return undefined;
      target = await readlink(this.currentLink);
    } catch {
      return undefined;
    }
    const dir = resolve(this.workDir, target);
    const mainFile = join(dir, this.mainFileName);
    if (!(await stat(mainFile).catch(() => undefined))?.isFile()) return undefined;
    const id = dir.split('/').at(-1) ?? '';
    return { id, dir, mainFile };
  }

  /**
   * Materialises and validates `candidate`. Resolves with the staged bundle, or rejects with a
   * `BundleRejectedError` (for a bundle refused before, the remembered error, without a new test).
   */
  async stage(candidate: BundleCandidate): Promise<StagedBundle> {
    const log = this.logger.child({ bundleId: candidate.id, origin: candidate.origin });
    const current = await this.current();
    if (current?.id === candidate.id) {
      log.debug('bundle is already the current one');
      return { ...current, origin: candidate.origin };
    }
    const known = this.rejected.get(candidate.id);
    if (known !== undefined) {
      log.debug({ reason: known.reason }, 'bundle was refused before; not retrying until it changes');
      throw known;
    }
    const staging = join(this.workDir, 'staging', candidate.id);
    await rm(staging, { recursive: true, force: true });
    await mkdir(staging, { recursive: true });
    try {
      await candidate.materialise(staging, { ...this.limits, mainFile: this.mainFileName });
    } catch (error) {
      if (error instanceof BundleRejectedError) throw await this.refuse(candidate, staging, error);
      // An I/O error (disk full, staging dir unwritable) is not the bundle's fault, so its id is not
      // remembered as refused. The source has already marked the bundle as seen, though: the caller
      // must `forget` it there (daemon/bundle-watch.ts does) or it is not retried until it changes.
      log.error({ err: error }, 'cannot materialise config bundle');
      this.metrics?.bundleApplies.inc({ result: 'failed' });
      throw new BundleRejectedError(
        'unreadable',
        `cannot materialise bundle ${candidate.origin}: ${String(error)}`,
        {
          cause: error,
          bundleId: candidate.id,
        },
      );
    }
    const test = await this.tester(join(staging, this.mainFileName));
    if (!test.ok) {
      this.metrics?.configTestFailures.inc();
      const first = test.errors[0] ?? test.output.trim().split('\n')[0] ?? 'no diagnostics';
      throw await this.refuse(
        candidate,
        staging,
        new BundleRejectedError('nginx-test-failed', `nginx -t failed for bundle ${candidate.id}: ${first}`, {
          nginxErrors: test.errors.length > 0 ? test.errors : [test.output],
        }),
      );
    }
    const dir = join(this.workDir, 'bundles', candidate.id);
    await mkdir(join(this.workDir, 'bundles'), { recursive: true });
    await rm(dir, { recursive: true, force: true });
    await rename(staging, dir);
    log.info('config bundle passed nginx -t');
    return { id: candidate.id, dir, mainFile: join(dir, this.mainFileName), origin: candidate.origin };
  }

  /** Points `current` at `bundle` atomically. Reload NGINX next, then `confirm()` or `revert()`. */
  async activate(bundle: StagedBundle): Promise<ActivatedBundle> {
    const previous = await this.current();
    await this.pointCurrentAt(bundle.id);
    this.logger.info({ bundleId: bundle.id, previousBundleId: previous?.id }, 'config bundle activated');
    let settled = false;
    return {
      bundle,
      previous,
      confirm: async () => {
        if (settled) return;
        settled = true;
        this.metrics?.bundleApplies.inc({ result: 'success' });
        await this.prune(new Set([bundle.id, ...(previous ? [previous.id] : [])]));
      },
      revert: async (error?: Error) => {
        if (settled) return;
        settled = true;
        if (previous !== undefined && previous.id !== bundle.id) await this.pointCurrentAt(previous.id);
        else if (previous === undefined) await rm(this.currentLink, { force: true });
        if (previous?.id === bundle.id) return;
        const refusal = new BundleRejectedError(
          'reload-failed',
          `NGINX did not load bundle ${bundle.id}: ${error?.message ?? 'reload failed'}`,
          { cause: error, nginxErrors: (error as { nginxErrors?: string[] } | undefined)?.nginxErrors ?? [] },
        );
        await this.refuse({ id: bundle.id, origin: bundle.origin ?? bundle.dir }, bundle.dir, refusal);
      },
    };
  }

  /** Replaces the `current` symlink: a new link under a temporary name, renamed over it. */
  private async pointCurrentAt(id: string): Promise<void> {
    this.tempSeq += 1;
    const temp = join(this.workDir, `.current-${process.pid}-${this.tempSeq}`);
    await rm(temp, { force: true });
    // Relative target: the work dir can be mounted elsewhere and the link still resolves.
    await symlink(join('bundles', id), temp);
    await rename(temp, this.currentLink);
  }

  /** Moves a refused tree under rejected/, logs, counts, remembers; returns the error to throw. */
  private async refuse(
    candidate: Pick<BundleCandidate, 'id' | 'origin'>,
    tree: string,
    error: BundleRejectedError,
  ): Promise<BundleRejectedError> {
    error.bundleId = candidate.id;
    const rejectedRoot = join(this.workDir, 'rejected');
    const inspectDir = join(rejectedRoot, `${candidate.id}-${error.reason}`);
    try {
      await mkdir(rejectedRoot, { recursive: true });
      await rm(inspectDir, { recursive: true, force: true });
      await rename(tree, inspectDir);
      const now = new Date();
      await utimes(inspectDir, now, now);
      error.inspectDir = inspectDir;
      await this.pruneRejected();
    } catch (moveError) {
      this.logger.warn({ err: moveError, tree }, 'cannot keep the refused bundle for inspection');
    }
    this.logger.error(
      {
        code: error.code,
        reason: error.reason,
        bundleId: candidate.id,
        origin: candidate.origin,
        nginxErrors: error.nginxErrors,
        inspectDir: error.inspectDir,
        upstreamsFile: this.upstreamsFile,
      },
      `config bundle refused, the running config stays: ${error.message}`,
    );
    this.metrics?.bundleApplies.inc({ result: 'failed' });
    this.remember(candidate.id, error);
    return error;
  }

  private remember(id: string, error: BundleRejectedError): void {
    this.rejected.delete(id);
    this.rejected.set(id, error);
    while (this.rejected.size > this.rememberRejected) {
      const oldest = this.rejected.keys().next().value;
      if (oldest === undefined) break;
      this.rejected.delete(oldest);
    }
  }

  /** Keeps the newest `keepRejected` trees under rejected/. */
  private async pruneRejected(): Promise<void> {
    const root = join(this.workDir, 'rejected');
    const entries = await Promise.all(
      (await readdir(root)).map(async (name) => ({ name, mtime: (await stat(join(root, name))).mtimeMs })),
    );
    entries.sort((a, b) => b.mtime - a.mtime || b.name.localeCompare(a.name));
    for (const entry of entries.slice(this.keepRejected)) {
      await rm(join(root, entry.name), { recursive: true, force: true });
    }
  }

  /** Removes bundle dirs not in `keep` (the current one and the previous one, for rollback). */
  private async prune(keep: ReadonlySet<string>): Promise<void> {
    const root = join(this.workDir, 'bundles');
    for (const name of await readdir(root).catch(() => [] as string[])) {
      if (!keep.has(name)) await rm(join(root, name), { recursive: true, force: true });
    }
  }
}
