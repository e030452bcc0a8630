// The set-up the daemon integration tests share: the AWS wire fake and fauxqs for the whole file,
// an SQS client on fauxqs, and cleanups run after each test (best effort, newest first). Call
// `useDaemonWorld()` at the top level of a test file; it registers the vitest hooks.

import { SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, afterEach, beforeAll } from 'vitest';
import type { AwsFake } from '../aws-fake/server.js';
import { startAwsFake } from '../aws-fake/server.js';
import type { FauxqsHarness } from '../fauxqs.js';
import { startFauxqsServer } from '../fauxqs.js';
import type { Backend } from '../net/backend.js';
import { startBackend } from '../net/backend.js';
import { get } from '../net/http.js';
import { eventually } from '../net/poll.js';
import { type DaemonProcess, runCleanups } from './daemon-harness.js';

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
}

/** Registers the hooks and returns the world; its fields are there from the file's first test. */
export function useDaemonWorld(): DaemonWorld {
  let aws: AwsFake | undefined;
  let fq: FauxqsHarness | undefined;
  let sqs: SQSClient | undefined;
  const cleanups: (() => unknown)[] = [];

  beforeAll(async () => {
    [aws, fq] = await Promise.all([startAwsFake(), startFauxqsServer()]);
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
  };
  return world;
}

/**
 * Waits until the daemon's /readyz answers 200 (bounded: 300 rounds, 100 ms apart); fails
 * at once if the daemon exits, and the failure carries the end of its output.
 */
export async function untilReady(daemon: DaemonProcess): Promise<void> {
  await eventually(
    'the daemon to be ready',
    async () => {
      if (daemon.child.exitCode !== null) throw new Error(`daemon exited:\n${daemon.output()}`);
      return (await get(`${daemon.adminUrl}/readyz`)).status === 200 ? true : undefined;
    },
    { rounds: 300, intervalMs: 100 },
  ).catch((err: unknown) => {
    throw new Error(`${String(err)}\n--- daemon output ---\n${daemon.output().slice(-4000)}`);
  });
}
