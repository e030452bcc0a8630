/**
 * An AWS SDK client built on first use. `@aws-sdk/client-ec2` alone costs ~64 MB of RSS once
 * loaded, and a daemon on an awsvpc-only cluster never calls EC2; S3 and EventBridge are needed only
 * by some configurations. So their modules are imported, and their clients built, the first time a
 * caller needs one (aws/clients.ts).
 */

/** The client, built at the first call (its SDK module loaded then); the same one on every later call. */
export type LazyClient<T> = () => Promise<T>;

export interface LazyClientHolder<T> {
  readonly get: LazyClient<T>;
  /** Destroys the client if it was built (or, when being built, as soon as it is); else nothing. */
  destroy(): void;
}

/**
 * Holds the client `create` builds. Concurrent first calls share one `create`; a failed `create`
 * (the module could not be loaded) fails the calls waiting on it, and the next call tries again.
 */
export function lazyClient<T extends { destroy(): void }>(create: () => Promise<T>): LazyClientHolder<T> {
  let pending: Promise<T> | undefined;
  let built: T | undefined;
  let destroyed = false;
  return {
    get() {
      pending ??= create().then(
        (client) => {
          built = client;
          if (destroyed) client.destroy();
          return client;
        },
        (err: unknown) => {
          pending = undefined;
          throw err;
        },
      );
      return pending;
    },
    destroy() {
      destroyed = true;
      built?.destroy();
    },
  };
}
