/**
 * The real `NginxExec`: execa for processes, signals through `process.kill`, children from Linux
 * /proc. NGINX is spawned `detached` (its own process group, pgid = master pid) so that:
 * - a Ctrl-C on our terminal reaches only us, and we stop NGINX in order (`stop()`);
 * - workers orphaned by a crashed master can still be found and signalled as a group.
 * Detached children are not killed by execa when we exit, so an `exit` hook does it for the groups
 * still alive (SIGTERM: NGINX's fast shutdown; a hook on `exit` may only do synchronous work).
 */
import { readdir, readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import type {
  ChildProcessInfo,
  NginxExec,
  NginxExitInfo,
  NginxProcessHandle,
  NginxRunResult,
  OutputStream,
} from './nginx-exec.js';

/** `nginx -t` reads the config and opens files; it has no business taking longer than this. */
const RUN_TIMEOUT_MS = 60_000;
/** How long after the master's exit we wait for its last output lines. */
const OUTPUT_DRAIN_MS = 200;

const liveGroups = new Set<number>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const pgid of liveGroups) {
      try {
        process.kill(-pgid, 'SIGTERM');
      } catch {
        // Already gone: nothing to clean up.
      }
    }
  });
}

function pipeLines(
  stream: Readable | null,
  name: OutputStream,
  onLine: (raw: string, s: OutputStream) => void,
) {
  if (!stream) return Promise.resolve();
  const reader = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
  reader.on('line', (raw) => onLine(raw, name));
  return new Promise<void>((resolve) => reader.once('close', resolve));
}

function errnoOf(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : undefined;
}

function signalExists(target: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(target, signal);
    return true;
  } catch (error) {
    // EPERM: it exists but is not ours to signal (it still counts as present).
    if (errnoOf(error) === 'EPERM') return true;
    if (errnoOf(error) === 'ESRCH') return false;
    throw error;
  }
}

/**
 * Fields of /proc/<pid>/stat (proc(5)): after `pid (comm)` come state, ppid, pgrp. comm may
 * contain spaces and parens, so split after the LAST `)`.
 */
function parseStat(stat: string): { state: string; ppid: number; pgrp: number } | undefined {
  const [state, ppid, pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  if (state === undefined || ppid === undefined || pgrp === undefined) return undefined;
  return { state, ppid: Number(ppid), pgrp: Number(pgrp) };
}

async function childPidsOf(pid: number): Promise<number[]> {
  try {
    // Needs CONFIG_PROC_CHILDREN (most distribution kernels). NGINX's master is single-threaded,
    // so its main task's list is the whole list.
    const text = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8');
    return text
      .split(' ')
      .filter((s) => s.length > 0)
      .map(Number);
  } catch (error) {
    if (errnoOf(error) !== 'ENOENT') throw error;
  }
  // Fallback: scan every process's stat for its parent. O(processes), still cheap at container scale.
  const entries = await readdir('/proc');
  const found: number[] = [];
  await Promise.all(
    entries
      .filter((e) => /^\d+$/.test(e))
      .map(async (e) => {
        try {
          if (parseStat(await readFile(`/proc/${e}/stat`, 'utf8'))?.ppid === pid) found.push(Number(e));
        } catch {
          // The process ended while we scanned.
        }
      }),
  );
  return found;
}

export class ExecaNginxExec implements NginxExec {
  spawn(
    binary: string,
    args: readonly string[],
    onLine: (raw: string, stream: OutputStream) => void,
  ): NginxProcessHandle {
    const subprocess = execa(binary, args, {
      detached: true,
      stdin: 'ignore',
      buffer: false,
      reject: false,
      stripFinalNewline: false,
    });
    const pid = subprocess.pid;
    if (pid === undefined) {
      // Spawn failed synchronously (ENOENT, EACCES); the awaited result carries the reason.
      throw new Error(`cannot spawn ${binary}`);
    }
    liveGroups.add(pid);
    installExitHook();
    const outputDone = Promise.all([
      pipeLines(subprocess.stdout, 'stdout', onLine),
      pipeLines(subprocess.stderr, 'stderr', onLine),
    ]);
    // Resolve on the process's own exit, not on its pipes closing: workers orphaned by a killed
    // master keep our stdout/stderr pipes open, and we must not wait for them to act on the exit.
    const exited = new Promise<NginxExitInfo>((resolve) => {
      subprocess.nodeChildProcess.once('exit', (code, signal) => {
        // Give the last lines (a failed start's [emerg]) a moment to arrive; bounded.
        void Promise.race([outputDone, sleep(OUTPUT_DRAIN_MS)]).then(() => {
          if (!signalExists(-pid, 0)) liveGroups.delete(pid);
          resolve({ exitCode: code ?? undefined, signal: signal ?? undefined });
        });
      });
    });
    // reject: false, so this never rejects; attached only so no rejection can go unobserved.
    subprocess.catch(() => undefined);
    return { pid, exited };
  }

  async run(binary: string, args: readonly string[]): Promise<NginxRunResult> {
    const result = await execa(binary, args, {
      stdin: 'ignore',
      all: true,
      reject: false,
      timeout: RUN_TIMEOUT_MS,
    });
    if (result.exitCode === undefined && result.signal === undefined) {
      // Never ran at all (missing binary): an infrastructure fault, not a config verdict.
      throw new Error(`cannot run ${binary}: ${result.message}`, { cause: result.cause });
    }
    return { exitCode: result.exitCode, signal: result.signal, output: result.all ?? '' };
  }

  kill(pid: number, signal: NodeJS.Signals): boolean {
    return signalExists(pid, signal);
  }

  killGroup(pgid: number, signal: NodeJS.Signals): boolean {
    const present = signalExists(-pgid, signal);
    if (!present) liveGroups.delete(pgid);
    return present;
  }

  async groupMembers(pgid: number): Promise<number[]> {
    if (!signalExists(-pgid, 0)) {
      liveGroups.delete(pgid);
      return [];
    }
    const members: number[] = [];
    for (const entry of await readdir('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const stat = parseStat(await readFile(`/proc/${entry}/stat`, 'utf8'));
        if (stat?.pgrp === pgid && stat.state !== 'Z') members.push(Number(entry));
      } catch {
        // The process ended while we scanned.
      }
    }
    return members;
  }

  async children(pid: number): Promise<ChildProcessInfo[]> {
    const pids = await childPidsOf(pid);
    const infos = await Promise.all(
      pids.map(async (child): Promise<ChildProcessInfo | undefined> => {
        try {
          // NGINX overwrites argv with its title, so cmdline reads `nginx: worker process\0...`.
          const cmdline = await readFile(`/proc/${child}/cmdline`, 'utf8');
          return { pid: child, title: cmdline.replaceAll('\0', ' ').trim() };
        } catch {
          return undefined;
        }
      }),
    );
    return infos.filter((i): i is ChildProcessInfo => i !== undefined);
  }
}
