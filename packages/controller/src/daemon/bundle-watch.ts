/**
 * The config bundle in the daemon: which source (S3, directory, or the built-in default, from the
 * configuration), and what happens when the source offers a new bundle after start-up:
 * stage (`nginx -t` in staging) → exclusive apply through the ApplyGate → flip `current` → reload
 * → confirm, or revert and reload the previous bundle. A refused bundle leaves the running config
 * in place and is not retried until the bundle changes (the manager remembers its id). A bundle
 * that failed for a reason that is not its own (an I/O error) is forgotten by the source, so the
 * next check offers it again (issue 5: "retried only when the bundle changes" is for bad bundles).
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { NginxRunner } from '@ecs-ingress/nginx-runner';
import type { LazyClient } from '@ecs-ingress/sources';
import type { Logger } from '@ecs-ingress/types';
import { concatMap, from, type Subscription } from 'rxjs';
import type { BundleManager } from '../bundle/bundle-manager.js';
import { DirectoryBundleSource } from '../bundle/directory-bundle-source.js';
import { BundleRejectedError } from '../bundle/errors.js';
import { S3BundleSource } from '../bundle/s3-bundle-source.js';
import {
  type BundleCandidate,
  type BundleSource,
  DEFAULT_DYNAMIC_BUNDLE_DIR,
  DefaultBundleSource,
} from '../bundle/sources.js';
import type { DaemonConfig } from '../config/env.js';
import type { Metrics } from '../http/metrics.js';
import type { ApplyGate } from './apply-gate.js';

/** The bundle source the configuration names. */
export function bundleSourceFor(
  config: DaemonConfig,
  s3: LazyClient<S3Client>,
  logger: Logger,
  metrics?: Pick<Metrics, 'bundleChecks'>,
): BundleSource {
  const common = { logger, ...(metrics ? { metrics } : {}) };
  if (config.bundle.s3 !== undefined) {
    return new S3BundleSource({
      client: s3,
      bucket: config.bundle.s3.bucket,
      key: config.bundle.s3.key,
      intervalMs: config.bundle.checkIntervalMs,
      ...common,
    });
  }
  if (config.bundle.dir !== undefined) {
    return new DirectoryBundleSource({
      dir: config.bundle.dir,
      pollIntervalMs: config.bundle.checkIntervalMs,
      ...common,
    });
  }
  if (config.upstreamMode === 'dynamic') {
    // The reload-mode default includes one file in http and stream, which a Lua-balanced upstreams
    // file cannot serve: dynamic mode gets its own default, pointed at the configured files.
    return new DefaultBundleSource({
      dir: DEFAULT_DYNAMIC_BUNDLE_DIR,
      upstreamsFile: config.upstreamsFile,
      replacements: {
        '/app/nginx/ecs-ingress-dynamic.conf': config.dynamic.preambleFile,
        '/app/nginx/upstreams.http.conf': config.dynamic.httpUpstreamsFile,
        ...routeFileReplacements(config),
      },
      mainFileName: config.bundle.mainFileName,
      logger,
    });
  }
  return new DefaultBundleSource({
    upstreamsFile: config.upstreamsFile,
    replacements: routeFileReplacements(config),
    mainFileName: config.bundle.mainFileName,
    logger,
  });
}

/** The route files the built-in configs include, as configured. */
function routeFileReplacements(config: DaemonConfig): Record<string, string> {
  return {
    '/app/nginx/routes.http.conf': config.routes.httpFile,
    '/app/nginx/routes.stream.conf': config.routes.streamFile,
  };
}

export interface BundleWatchOptions {
  readonly source: BundleSource;
  readonly manager: BundleManager;
  readonly gate: ApplyGate<unknown>;
  /** The reconciler's flush: resolves when no upstream apply runs. */
  readonly drain: () => Promise<void>;
  readonly runner: NginxRunner;
  readonly logger: Logger;
  /** After each NGINX reload the watch made (metrics: bundle reloads count as reloads). */
  readonly onReload?: (result: { readonly ok: boolean; readonly durationMs: number }) => void;
  /** After each swap attempt (tests, status). */
  readonly onResult?: (result: { bundleId: string; ok: boolean; error?: Error }) => void;
}

/** Applies every candidate the source offers, one at a time. Returns the subscription to end it. */
export function watchBundles(options: BundleWatchOptions): Subscription {
  const logger = options.logger.child({ component: 'bundle-watch' });
  return options.source.candidates$
    .pipe(concatMap((candidate) => from(applyGuarded(candidate, options, logger))))
    .subscribe({
      error: (err: unknown) =>
        logger.error({ err, code: 'ECS_INGRESS_BUNDLE_WATCH_FAILED' }, 'bundle watch ended'),
    });
}

/**
 * One candidate, never rejecting: a rejection would error the `concatMap` and end the watch, so
 * one disk error (reading `current`, flipping the link, reverting) would stop every later bundle
 * from being applied for the rest of the process's life.
 */
async function applyGuarded(
  candidate: BundleCandidate,
  o: BundleWatchOptions,
  logger: Logger,
): Promise<void> {
  try {
    await applyCandidate(candidate, o, logger);
  } catch (err) {
    logger.error(
      { err, bundleId: candidate.id, code: 'ECS_INGRESS_BUNDLE_APPLY_FAILED' },
      'applying the config bundle failed; the running config stays, later bundles are still watched',
    );
    retryUnlessRefused(candidate.id, o, logger);
    o.onResult?.({ bundleId: candidate.id, ok: false, error: err as Error });
  }
}

/**
 * After a failure: when the manager did not remember the bundle as refused (the failure was not the
 * bundle's fault), make the source offer it again at its next check. A refused bundle is left
 * alone: forgetting it would make an S3 source download it again every interval for nothing.
 */
export function retryUnlessRefused(
  id: string,
  o: Pick<BundleWatchOptions, 'source' | 'manager'>,
  logger: Logger,
): void {
  if (o.manager.rejectionOf(id) !== undefined) return;
  o.source.forget(id);
  logger.warn(
    { bundleId: id },
    'the bundle failed for a reason that is not its own; retrying at the next check',
  );
}

async function applyCandidate(
  candidate: BundleCandidate,
  o: BundleWatchOptions,
  logger: Logger,
): Promise<void> {
  const current = await o.manager.current();
  if (current?.id === candidate.id) return;
  let staged: Awaited<ReturnType<BundleManager['stage']>>;
  try {
    staged = await o.manager.stage(candidate);
  } catch (err) {
    // The manager logged and counted it (with NGINX's own lines); the running config stays.
    if (!(err instanceof BundleRejectedError))
      logger.error({ err, code: 'ECS_INGRESS_BUNDLE_REJECTED' }, 'bundle staging failed');
    retryUnlessRefused(candidate.id, o, logger);
    o.onResult?.({ bundleId: candidate.id, ok: false, error: err as Error });
    return;
  }
  await o.gate.exclusive(o.drain, async () => {
    const activated = await o.manager.activate(staged);
    try {
      await reloadCounted(o);
      await activated.confirm();
      logger.info({ bundleId: staged.id, origin: staged.origin }, 'new config bundle is live');
      o.onResult?.({ bundleId: staged.id, ok: true });
    } catch (err) {
      await activated.revert(err as Error);
      // The flip is undone on disk; a reload puts NGINX back on it if the failed one half-applied.
      // NGINX keeps its old configuration when a reload is refused, so failure here is only logged.
      await reloadCounted(o).catch((again: unknown) =>
        logger.warn(
          { err: again },
          'reload after reverting the bundle failed; NGINX keeps its running config',
        ),
      );
      o.onResult?.({ bundleId: staged.id, ok: false, error: err as Error });
    }
  });
}

/** `runner.reload()`, reported to `onReload` whatever its outcome. */
async function reloadCounted(o: BundleWatchOptions): Promise<void> {
  const started = performance.now();
  try {
    await o.runner.reload();
  } catch (err) {
    o.onReload?.({ ok: false, durationMs: performance.now() - started });
    throw err;
  }
  o.onReload?.({ ok: true, durationMs: performance.now() - started });
}
