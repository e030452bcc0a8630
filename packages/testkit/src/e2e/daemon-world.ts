// The set-up the daemon integration tests share: the AWS wire fake and fauxqs for the whole file,
// an SQS client on fauxqs, and cleanups run after each test (best effort, newest first). Call
// `useDaemonWorld()` at the top level of a test file; it registers the vitest hooks.

import { randomUUID } from 'node:crypto';
import { CreateQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, afterEach, beforeAll } from 'vitest';
import type { AwsFake } from '../aws-fake/server.js';
import { startAwsFake } from '../aws-fake/server.js';
import type { FauxqsHarness } from '../fauxqs.js';
import { startFauxqsServer } from '../fauxqs.js';
import type { Backend } from '../net/backend.js';
import { startBackend } from '../net/backend.js';
import { get } from '../net/http.js';
import { eventually } from '../net/poll.js';
import {
  type DaemonProcess,
  daemonBaseEnv,
  runCleanups,
  spawnDaemon,
  type TestBundle,
} from './daemon-harness.js';

export interface DaemonWorld {
  /** The wire fake (ECS, EC2, EventBridge), started before the file's first test. */
  readonly aws: AwsFake;
  /** fauxqs (SQS), started before the file's first test. */
  readonly fq: FauxqsHarness;
  /** An SQS client on fauxqs, `maxAttempts: 1`; built at first use, destroyed after the file. */
  readonly sqs: SQSClient;
  /** Runs `cleanup` after the current test (newest first; a failing one does not stop the rest). */
  defer(cleanup: () => unknown): void;
  /** A backend answering `name` on `host` (and `port`, 0 for any), closed after the current test. */
  backend(name: string, host?: string, port?: number): Promise<Backend>;
  /**
   * A daemon on `cluster` and `bundle`, learning from a shared queue of its own on fauxqs (events
   * only: resync in an hour; short debounce), ready (`untilReady`), killed after the current test.
   * `env` adds to or overrides its environment.
   */
  startEventsDaemon(
    cluster: string,
    bundle: TestBundle,
    env?: Record<string, string>,
  ): Promise<{ daemon: DaemonProcess; queueUrl: string }>;
}

/**
 * Registers the hooks and returns the world; its fields are there from the file's first test.
 * `fauxqs: false` for a file whose daemons take no queue (`world.fq` and `world.sqs` then throw).
 */
export function useDaemonWorld(options: { readonly fauxqs?: boolean } = {}): DaemonWorld {
  let aws: AwsFake | undefined;
  let fq: FauxqsHarness | undefined;
  let sqs: SQSClient | undefined;
  const cleanups: (() => unknown)[] = [];

  beforeAll(async () => {
    [aws, fq] = await Promise.all([
      startAwsFake(),
      options.fauxqs === false ? undefined : startFauxqsServer(),
    ]);
  });
  afterEach(() => runCleanups(cleanups));
  afterAll(async () => {
    sqs?.destroy();
    await Promise.all([aws?.close(), fq?.close()]);
  });

  const started = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`${what} is not started yet (use it inside a test)`);
    return value;
  };
  const world: DaemonWorld = {
    get aws() {
      return started(aws, 'the AWS fake');
    },
    get fq() {
      return started(fq, 'fauxqs');
    },
    get sqs() {
      sqs ??= new SQSClient({ ...started(fq, 'fauxqs').sqsConfig(), maxAttempts: 1 });
      return sqs;
    },
    defer(cleanup) {
      cleanups.push(cleanup);
    },
    async backend(name, host, port) {
      const b = await startBackend(name, host, port);
      cleanups.push(() => b.close());
      return b;
    },
    async startEventsDaemon(cluster, bundle, env = {}) {
      const { QueueUrl: queueUrl } = await world.sqs.send(
        new CreateQueueCommand({ QueueName: `events-${randomUUID()}` }),
      );
      if (queueUrl === undefined) throw new Error('fauxqs created a queue without a URL');
      const daemon = await spawnDaemon({
        ...daemonBaseEnv(world.aws.url, cluster, bundle),
        AWS_ENDPOINT_URL_EVENTBRIDGE: world.aws.url,
        AWS_ENDPOINT_URL_SQS: world.fq.endpoint,
        ECS_INGRESS_QUEUE_MODE: 'shared',
        ECS_INGRESS_QUEUE_URL: queueUrl,
        ECS_INGRESS_RESYNC_INTERVAL: '1h',
        ECS_INGRESS_DEBOUNCE_MIN: '50ms',
        ECS_INGRESS_DEBOUNCE_MAX: '300ms',
        ECS_INGRESS_MIN_RELOAD_INTERVAL: '100ms',
        ECS_INGRESS_LOG_LEVEL: 'info',
        ...env,
      });
      cleanups.push(() => daemon.kill(5000));
      await untilReady(daemon);
      return { daemon, queueUrl };
    },
  };
  return world;
}

/**
 * `eventually(what, probe)` for a daemon: fails at once if the daemon exits, and the failure
 * carries the end of the daemon's output. Bounded: `rounds` × `intervalMs` (default 300 × 100 ms).
 */
export async function untilDaemon<T>(
  what: string,
  daemon: DaemonProcess,
  probe: () => T | undefined | Promise<T | undefined>,
  options: { rounds?: number; intervalMs?: number } = {},
): Promise<T> {
  return eventually(
    what,
    async () => {
      if (daemon.child.exitCode !== null) throw new Error(`daemon exited:\n${daemon.output()}`);
      return probe();
    },
    { rounds: 300, intervalMs: 100, ...options },
  ).catch((err: unknown) => {
    throw new Error(`${String(err)}\n--- daemon output ---\n${daemon.output().slice(-4000)}`);
  });
}

/** Waits until the daemon's /readyz answers 200 (`untilDaemon`'s bounds and failure). */
export async function untilReady(daemon: DaemonProcess): Promise<void> {
  await untilDaemon('the daemon to be ready', daemon, async () =>
    (await get(`${daemon.adminUrl}/readyz`)).status === 200 ? true : undefined,
  );
}
