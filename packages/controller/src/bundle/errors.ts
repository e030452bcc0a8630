import { EcsIngressError } from '@ecs-ingress/types';

/** Why a bundle was refused. Stable strings: they appear in logs, in metrics-free alerts and in rejected dir names. */
export type BundleRejectReason =
  /** An entry named `/x` or `C:x`. */
  | 'absolute-path'
  /** An entry with a `..` segment. */
  | 'path-traversal'
  /** A symbolic link whose target is absolute, or resolves outside the bundle, or through another link outside it. */
  | 'link-outside'
  /** A symbolic link whose target does not exist inside the bundle. */
  | 'link-dangling'
  /** A character or block device, FIFO or socket. */
  | 'device-file'
  /** An entry type we do not extract (sparse, multi-volume, …) or an unreadable one (encrypted zip entry). */
  | 'unsupported-entry'
  /** Two entries with the same path, or a file where a directory is needed. */
  | 'duplicate-entry'
  | 'too-many-files'
  /** More bytes than allowed, counted while decompressing (a zip bomb stops here). */
  | 'too-large'
  /** Neither zip, gzip nor tar by its first bytes. */
  | 'not-an-archive'
  /** Recognised format, unreadable content (truncated, bad checksum, bad deflate data). */
  | 'corrupt-archive'
  /** No main config file (NGINX_CONFIG_FILE_NAME) at the root of the bundle. */
  | 'missing-main-file'
  /** `nginx -t` refused the bundle together with the current upstreams file. */
  | 'nginx-test-failed'
  /** `nginx -t` passed but NGINX did not load it on reload (e.g. a listen port already taken). */
  | 'reload-failed'
  /** The bundle could not be fetched or materialised for another reason (I/O error). */
  | 'unreadable';

/** A config bundle refused before it went live; the running config is untouched. */
export class BundleRejectedError extends EcsIngressError {
  readonly reason: BundleRejectReason;
  /** NGINX's own emerg/alert/crit lines when `reason` is `nginx-test-failed`. */
  readonly nginxErrors: readonly string[];
  /** The bundle's content id, once known. */
  bundleId: string | undefined;
  /** Where the refused tree was kept for inspection (`<workDir>/rejected/<id>-<reason>`), if anywhere. */
  inspectDir: string | undefined;

  constructor(
    reason: BundleRejectReason,
    message: string,
    options?: { cause?: unknown; nginxErrors?: readonly string[]; bundleId?: string },
  ) {
    super('ECS_INGRESS_BUNDLE_REJECTED', message, options);
    this.reason = reason;
    this.nginxErrors = options?.nginxErrors ?? [];
    this.bundleId = options?.bundleId;
    this.inspectDir = undefined;
  }
}

/**
 * Start-up found no bundle that passes `nginx -t` and no last known good one on disk. Like the
 * ancestor, ecs-ingress refuses to start NGINX without a valid config: the process exits non-zero.
 */
export class NoValidBundleError extends EcsIngressError {
  /** The rejection of the bundle that was tried, when one was fetched at all. */
  readonly rejection: BundleRejectedError | undefined;

  constructor(message: string, options?: { cause?: unknown; rejection?: BundleRejectedError }) {
    super('ECS_INGRESS_NO_VALID_BUNDLE', message, options);
    this.rejection = options?.rejection;
  }
}
