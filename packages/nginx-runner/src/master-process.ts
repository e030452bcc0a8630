/**
 * What one NGINX master is asked to do, each with its proof: spawn (an accepting worker appears),
 * reload (a new worker generation appears, see worker-generation.ts), and the graceful stop with
 * its escalation. `NginxRunner` holds the state
 * around them (current master, restarts, events).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '@ecs-ingress/types';
import { NginxReloadFailedError, NginxStartFailedError } from './errors.js';
import type { NginxExec, NginxExitInfo, NginxProcessHandle, OutputStream } from './nginx-exec.js';
import { settlesWithin } from './process-group.js';
import type { RecentNginxLines } from './recent-lines.js';
import type { NginxReloadResult } from './runner-types.js';
import { confirmNewGeneration, isAcceptingWorker } from './worker-generation.js';

export interface LaunchOptions {
  readonly exec: NginxExec;
  readonly binary: string;
  readonly args: readonly string[];
  /** NGINX's recent lines: the start errors are the failures logged after the spawn. */
  readonly lines: RecentNginxLines;
  readonly onLine: (raw: string, stream: OutputStream) => void;
  readonly startTimeoutMs: number;
  readonly killTimeoutMs: number;
  readonly pollIntervalMs: number;
}

/**
 * Spawns the master and resolves once it has an accepting worker: NGINX forks workers only after it
 * parsed the config and opened every listening socket. Rejects with `NginxStartFailedError` (NGINX's
 * own error lines attached) when it exits first or starts no worker in time (then it is killed).
 */
export async function launchMaster(options: LaunchOptions): Promise<NginxProcessHandle> {
  const { exec, binary, lines } = options;
  const fromSeq = lines.seq;
  let handle: NginxProcessHandle;
  try {
    handle = exec.spawn(binary, [...options.args], options.onLine);
  } catch (error) {
    throw new NginxStartFailedError(`cannot spawn ${binary}`, { nginxErrors: [], cause: error });
  }
  let exit: NginxExitInfo | undefined;
  void handle.exited.then((info) => {
    exit = info;
  });
  const deadline = Date.now() + options.startTimeoutMs;
  for (;;) {
    if (exit) {
      const nginxErrors = lines.failuresAfter(fromSeq);
      throw new NginxStartFailedError(
        `nginx exited during start (${exit.signal ?? `code ${exit.exitCode}`}): ${nginxErrors[0] ?? 'no diagnostics'}`,
        { nginxErrors, ...exitDetails(exit) },
      );
    }
    const children = await exec.children(handle.pid);
    if (children.some(isAcceptingWorker)) return handle;
    if (Date.now() >= deadline) {
      exec.killGroup(handle.pid, 'SIGKILL');
      await settlesWithin(handle.exited, options.killTimeoutMs);
      const nginxErrors = lines.failuresAfter(fromSeq);
      throw new NginxStartFailedError(`nginx started no worker within ${options.startTimeoutMs} ms`, {
        nginxErrors,
      });
    }
    await sleep(options.pollIntervalMs);
  }
}

function exitDetails(exit: NginxExitInfo): { exitCode?: number; signal?: string } {
  return {
    ...(exit.exitCode === undefined ? {} : { exitCode: exit.exitCode }),
    ...(exit.signal === undefined ? {} : { signal: exit.signal }),
  };
}

/**
 * SIGQUIT (workers finish their requests), SIGTERM after `stopTimeoutMs`, SIGKILL to the whole
 * process group after `killTimeoutMs`; resolves when the master exited or the last wait ran out.
 */
export async function quitMaster(
  exec: NginxExec,
  handle: NginxProcessHandle,
  timeouts: { readonly stopTimeoutMs: number; readonly killTimeoutMs: number },
  logger: Logger,
): Promise<void> {
  const { pid } = handle;
  exec.kill(pid, 'SIGQUIT');
  if (await settlesWithin(handle.exited, timeouts.stopTimeoutMs)) return;
  logger.warn({ pid, afterMs: timeouts.stopTimeoutMs }, 'nginx did not quit gracefully, sending SIGTERM');
  exec.kill(pid, 'SIGTERM');
  if (await settlesWithin(handle.exited, timeouts.killTimeoutMs)) return;
  logger.error({ pid, afterMs: timeouts.killTimeoutMs }, 'nginx ignored SIGTERM, sending SIGKILL');
  exec.killGroup(pid, 'SIGKILL');
  await settlesWithin(handle.exited, timeouts.killTimeoutMs);
}

/**
 * SIGHUP to `handle`'s master, then the wait for a new worker generation. Throws
 * `NginxReloadFailedError` (NGINX still serves the previous config) with its error lines.
 */
export async function reloadMaster(options: {
  readonly exec: NginxExec;
  readonly handle: NginxProcessHandle;
  readonly lines: RecentNginxLines;
  readonly reloadTimeoutMs: number;
  readonly pollIntervalMs: number;
  readonly rejectSettleMs: number;
  /** False once this master exited (or was replaced). */
  readonly isCurrent: () => boolean;
}): Promise<NginxReloadResult> {
  const { exec, handle, lines } = options;
  const before = new Set((await exec.children(handle.pid)).map((c) => c.pid));
  const fromSeq = lines.seq;
  const sentAt = performance.now();
  if (!exec.kill(handle.pid, 'SIGHUP')) {
    throw new NginxReloadFailedError('nginx master is gone', { nginxErrors: [], reason: 'not-running' });
  }
  const workerPids = await confirmNewGeneration({
    exec,
    masterPid: handle.pid,
    before,
    sentAt,
    timeoutMs: options.reloadTimeoutMs,
    pollIntervalMs: options.pollIntervalMs,
    rejectSettleMs: options.rejectSettleMs,
    failures: () => lines.failuresAfter(fromSeq),
    lastLineAt: () => lines.lastLineAt,
    masterAlive: options.isCurrent,
  });
  return { durationMs: performance.now() - sentAt, workerPids };
}
