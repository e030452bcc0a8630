/**
 * Which bundle NGINX starts with. The ancestor's rule stands: NGINX is never started without a
 * config that passed `nginx -t`. What is new is the last known good bundle on disk: a daemon that
 * restarts while the bucket holds a broken bundle keeps serving with the config it ran before.
 */
import type { Logger } from '@ecs-ingress/types';
import { silentLogger } from '@ecs-ingress/types';
import type { BundleManager, StagedBundle } from './bundle-manager.js';
import { BundleRejectedError, NoValidBundleError } from './errors.js';
import type { BundleCandidate } from './sources.js';

export interface StartupBundle {
  /** The bundle to activate and start NGINX with. */
  bundle: StagedBundle;
  /** true: the freshly fetched bundle; false: the last known good one from disk. */
  fresh: boolean;
  /** Why the fetched bundle was not used, when `fresh` is false and one was tried. */
  rejected?: BundleRejectedError;
}

function describe(error: BundleRejectedError): string {
  const nginx = error.nginxErrors.length > 0 ? ` NGINX said: ${error.nginxErrors.join(' | ')}` : '';
  const kept = error.inspectDir !== undefined ? ` (kept in ${error.inspectDir})` : '';
  return `${error.message}${kept}.${nginx}`;
}

/**
 * Fetches the first candidate (`fetch`, typically `source.check()`) and stages it. When that fails
 * (refused, or the fetch threw) falls back to `manager.current()`; with no last known good either,
 * throws `NoValidBundleError` (code ECS_INGRESS_NO_VALID_BUNDLE) saying what was wrong.
 */
export async function resolveStartupBundle(options: {
  manager: BundleManager;
  fetch: () => Promise<BundleCandidate | undefined>;
  logger?: Logger;
  /** Rewrites a refusal with what the user must change (the daemon's dynamic-layout hint). */
  explain?: (rejection: BundleRejectedError) => BundleRejectedError;
}): Promise<StartupBundle> {
  const logger = (options.logger ?? silentLogger).child({ component: 'bundle' });
  let rejection: BundleRejectedError | undefined;
  try {
    const candidate = await options.fetch();
    if (candidate !== undefined) return { bundle: await options.manager.stage(candidate), fresh: true };
  } catch (error) {
    rejection =
      error instanceof BundleRejectedError
        ? error
        : new BundleRejectedError(
            'unreadable',
            `cannot fetch the config bundle: ${String((error as Error)?.message ?? error)}`,
            {
              cause: error,
            },
          );
  }
  if (rejection !== undefined && options.explain !== undefined) rejection = options.explain(rejection);
  const lastGood = await options.manager.current();
  if (lastGood !== undefined) {
    if (rejection !== undefined) {
      logger.error(
        {
          code: rejection.code,
          reason: rejection.reason,
          bundleId: rejection.bundleId,
          lastGoodBundleId: lastGood.id,
        },
        `starting with the last known good bundle ${lastGood.id}; the new bundle is refused: ${describe(rejection)}`,
      );
      return { bundle: lastGood, fresh: false, rejected: rejection };
    }
    return { bundle: lastGood, fresh: false };
  }
  const what = rejection !== undefined ? describe(rejection) : 'no config bundle was found.';
  throw new NoValidBundleError(
    `no valid NGINX config bundle and no last known good one in ${options.manager.workDir}: ${what}`,
    { ...(rejection !== undefined ? { rejection, cause: rejection } : {}) },
  );
}
