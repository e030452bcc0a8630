/**
 * The NGINX config bundle: fetched from S3 or a directory (or the built-in default), extracted
 * safely, validated with `nginx -t`, swapped in atomically, rolled back when NGINX refuses it.
 *
 * On-disk layout contract (the runtime wires NGINX to it):
 *
 *   <workDir>/bundles/<id>/          one directory per validated bundle (id = 16-hex content hash);
 *                                    the current one and the previous one (for rollback) are kept
 *   <workDir>/current -> bundles/<id>   relative symlink to the active bundle, replaced atomically
 *                                    (new link renamed over it); also the "last known good" at start-up
 *   <workDir>/staging/<id>/          where a candidate is materialised and tested
 *   <workDir>/rejected/<id>-<reason>/   refused trees kept for inspection (the newest 5)
 *
 * NGINX runs with `-c <workDir>/current/<NGINX_CONFIG_FILE_NAME>`. NGINX resolves relative
 * `include`s against the directory of the -c file, i.e. inside the bundle, so a bundle is
 * self-contained and is tested in staging with exactly the paths it will have once live. The
 * upstreams file lives OUTSIDE the bundle at an absolute path (default /app/nginx/upstreams.conf,
 * the ancestor's), which the user's config includes in `http` and in `stream`; `nginx -t` on a
 * staged bundle therefore checks it together with the current upstreams.
 *
 * Flow: source.candidates$ → manager.stage(candidate) → (single-flight apply path) →
 * manager.activate(staged) → NGINX reload → activated.confirm() | activated.revert(error).
 */
export type {
  ActivatedBundle,
  BundleManagerMetrics,
  BundleManagerOptions,
  BundleTester,
  StagedBundle,
} from './bundle-manager.js';
export { BundleManager } from './bundle-manager.js';
export type { DirectoryBundleSourceOptions } from './directory-bundle-source.js';
export { DirectoryBundleSource } from './directory-bundle-source.js';
export type { BundleRejectReason } from './errors.js';
export { BundleRejectedError, NoValidBundleError } from './errors.js';
export type { ArchiveFormat, ExtractLimits, ExtractResult } from './extract.js';
export { DEFAULT_MAX_BYTES, DEFAULT_MAX_FILES, detectArchiveFormat, extractBundle } from './extract.js';
export { createNginxTester } from './nginx-tester.js';
export type { S3BundleSourceOptions, S3BundleSourceStats } from './s3-bundle-source.js';
export { S3BundleSource } from './s3-bundle-source.js';
export type {
  BundleCandidate,
  BundleSource,
  BundleSourceMetrics,
  DefaultBundleSourceOptions,
} from './sources.js';
export { DEFAULT_BUNDLE_DIR, DEFAULT_UPSTREAMS_FILE, DefaultBundleSource } from './sources.js';
export type { StartupBundle } from './startup.js';
export { resolveStartupBundle } from './startup.js';
export { hashTree } from './tree.js';
