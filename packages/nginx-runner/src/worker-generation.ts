/**
 * Telling NGINX's worker generations apart from the master's children and their titles
 * (NGINX rewrites argv, so /proc/<pid>/cmdline reads `nginx: worker process`, and
 * `nginx: worker process is shutting down` once a worker got QUIT; cache manager and loader
 * processes are children too and are not workers).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { NginxReloadFailedError } from './errors.js';
import type { ChildProcessInfo, NginxExec } from './nginx-exec.js';

const WORKER_TITLE = 'nginx: worker process';
const SHUTTING_DOWN = 'is shutting down';

/** A worker of any generation (draining ones included). */
export function isWorker(child: ChildProcessInfo): boolean {
  return child.title.startsWith(WORKER_TITLE);
}

/** A worker that still accepts connections. */
export function isAcceptingWorker(child: ChildProcessInfo): boolean {
  return isWorker(child) && !child.title.includes(SHUTTING_DOWN);
}

export interface GenerationWatch {
  exec: NginxExec;
  masterPid: number;
  /** Every child pid of the master before the SIGHUP. */
  before: ReadonlySet<number>;
  /** `performance.now()` of the SIGHUP. */
  sentAt: number;
  timeoutMs: number;
  pollIntervalMs: number;
  rejectSettleMs: number;
  /** emerg/alert/crit lines NGINX printed since the SIGHUP. */
  failures(): string[];
  /** `Date.now()` of NGINX's latest output line. */
  lastLineAt(): number;
  /** False once the master exited. */
  masterAlive(): boolean;
}

/**
 * Waits until the new generation alone accepts: at least one worker that was not a child before
 * the SIGHUP, and every accepting worker is new. Old workers retitle themselves "is shutting
 * down" as they close their listening sockets; until then a new connection can still land on the
 * old config. NGINX's master sleeps 100 ms between starting the new workers and telling the old
 * ones to quit (ngx_master_process_cycle), so a confirmation takes a little over 100 ms.
 *
 * Rejected: NGINX printed a failure line, then nothing for `rejectSettleMs`, and no new worker.
 */
export async function confirmNewGeneration(watch: GenerationWatch): Promise<number[]> {
  const deadline = watch.sentAt + watch.timeoutMs;
  for (;;) {
    const accepting = (await watch.exec.children(watch.masterPid)).filter(isAcceptingWorker);
    const fresh = accepting.filter((c) => !watch.before.has(c.pid));
    if (fresh.length > 0 && fresh.length === accepting.length) return fresh.map((c) => c.pid);
    const nginxErrors = watch.failures();
    if (!watch.masterAlive()) {
      throw new NginxReloadFailedError('nginx exited during reload', { nginxErrors, reason: 'not-running' });
    }
    if (nginxErrors.length > 0 && Date.now() - watch.lastLineAt() >= watch.rejectSettleMs) {
      throw new NginxReloadFailedError(`nginx rejected the new config: ${nginxErrors.at(-1)}`, {
        nginxErrors,
        reason: 'rejected',
      });
    }
    if (performance.now() >= deadline) {
      throw new NginxReloadFailedError(`no new nginx workers within ${watch.timeoutMs} ms`, {
        nginxErrors,
        reason: 'timeout',
      });
    }
    await sleep(watch.pollIntervalMs);
  }
}
