/**
 * Waiting on and clearing NGINX's process group (the master is spawned detached, so its pid is
 * the group id and every worker belongs to it, even after the master died). All waits are bounded.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '@ecs-ingress/types';
import type { NginxExec } from './nginx-exec.js';

/** Resolves true when `promise` settles within `ms`, false otherwise. */
export async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  const controller = new AbortController();
  const timer = sleep(ms, false, { signal: controller.signal }).catch(() => false);
  const won = await Promise.race([promise.then(() => true), timer]);
  controller.abort();
  return won;
}

/** Polls until group `pgid` has no live member; false when `ms` passed first. */
export async function waitGroupGone(
  exec: NginxExec,
  pgid: number,
  ms: number,
  pollIntervalMs: number,
): Promise<boolean> {
  const deadline = Date.now() + ms;
  while ((await exec.groupMembers(pgid)).length > 0) {
    if (Date.now() >= deadline) return false;
    await sleep(pollIntervalMs);
  }
  return true;
}

export interface ClearGroupOptions {
  /** SIGQUIT first and wait this long (0: straight to SIGKILL). */
  graceMs: number;
  /** How long to wait after SIGKILL. */
  killTimeoutMs: number;
  pollIntervalMs: number;
}

/**
 * Ends what is left of group `pgid`: SIGQUIT (NGINX workers close their listening sockets at once
 * and finish their requests), then SIGKILL after `graceMs`. Returns whether the group is empty.
 */
export async function clearProcessGroup(
  exec: NginxExec,
  pgid: number,
  options: ClearGroupOptions,
  logger: Logger,
): Promise<boolean> {
  if ((await exec.groupMembers(pgid)).length === 0) return true;
  if (options.graceMs > 0) {
    exec.killGroup(pgid, 'SIGQUIT');
    if (await waitGroupGone(exec, pgid, options.graceMs, options.pollIntervalMs)) return true;
  }
  logger.warn({ pgid, members: await exec.groupMembers(pgid) }, 'killing leftover nginx processes');
  exec.killGroup(pgid, 'SIGKILL');
  // Zombies are not counted, so this waits only for processes still on their way out.
  if (await waitGroupGone(exec, pgid, options.killTimeoutMs, options.pollIntervalMs)) return true;
  logger.error({ pgid }, 'nginx processes still present after SIGKILL');
  return false;
}
