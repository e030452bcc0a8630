/**
 * One NGINX master under our supervision: start in the foreground, test, reload with confirmation,
 * graceful stop, restart with backoff on crashes, atomic managed files with rollback.
 *
 * What counts as proof:
 * - started: the master has at least one worker child. NGINX forks workers only after it parsed the
 *   config and opened every listening socket, so a worker means "listening".
 * - reloaded: after our SIGHUP, a worker pid that was not a child before appears. NGINX forks new
 *   workers only when the new config loaded; when it fails (e.g. a listen port already taken) the
 *   master logs `[emerg]` and keeps its old workers, exit codes say nothing.
 * Both read the master's children from /proc (through `NginxExec`), so this is Linux-only.
 *
 * Limits: NGINX's `[emerg]` lines reach us only while its error log goes to stderr (the default with
 * our `-e stderr`; a config with `error_log /some/file` hides them, and reload errors then carry none).
 */
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '@ecs-ingress/types';
import { silentLogger } from '@ecs-ingress/types';
import {
  NginxCrashLoopError,
  NginxReloadFailedError,
  NginxStartFailedError,
  NginxTestFailedError,
} from './errors.js';
import { ExecaNginxExec } from './execa-nginx-exec.js';
import {
  failureLinesOf,
  forwardNginxLine,
  isFailureLine,
  type NginxLogLine,
  parseNginxLogLine,
} from './log-lines.js';
import { type FileContent, lastKnownGood, ManagedFiles } from './managed-files.js';
import { nginxArgsFor } from './nginx-args.js';
import type {
  ChildProcessInfo,
  NginxExec,
  NginxExitInfo,
  NginxProcessHandle,
  OutputStream,
} from './nginx-exec.js';
import { DEFAULT_RESTART_BACKOFF, type RestartBackoff, RestartPolicy } from './restart-policy.js';
import { SerialQueue } from './serial-queue.js';

export interface NginxRunnerOptions {
  /** Default `/usr/sbin/nginx`. */
  nginxBinary?: string;
  /** NGINX's `-p`: relative paths in the config (pid, temp paths, logs) resolve against it. */
  prefix: string;
  /** NGINX's `-c`, the main config file. */
  configFile: string;
  logger?: Logger;
  /** Default: the real execa + /proc implementation. */
  exec?: NginxExec;
  /** How long start() waits for the first worker. Default 10 s. */
  startTimeoutMs?: number;
  /** How long reload() waits for a new worker generation. Default 10 s. */
  reloadTimeoutMs?: number;
  /** SIGQUIT (graceful) → SIGTERM after this long. Default 10 s. */
  stopTimeoutMs?: number;
  /** SIGTERM → SIGKILL after this long. Default 5 s. */
  killTimeoutMs?: number;
  /** After a crash, orphaned workers get SIGQUIT and this long to go before SIGKILL. Default 2 s. */
  orphanGraceMs?: number;
  restartBackoff?: Partial<RestartBackoff>;
  /**
   * Files restored from their `<file>.last-good` copy before the first start, so a restarted daemon
   * serves what it last applied, not a file a crash left half-applied.
   */
  managedFiles?: readonly string[];
  /** How often /proc is read while waiting. Default 20 ms. */
  pollIntervalMs?: number;
  /**
   * A reload is declared rejected when NGINX logged an emerg/alert/crit line after the SIGHUP and
   * then stayed silent this long without a new worker. Longer than NGINX's 500 ms bind() retry
   * interval, so a bind that is being retried is not judged early. Default 750 ms.
   */
  rejectSettleMs?: number;
}

export type NginxRunnerState =
  | 'idle'
  | 'starting'
  | 'running'
  | 'restarting'
  | 'stopping'
  | 'stopped'
  | 'crashloop';

export type NginxRunnerEvent =
  | { type: 'started'; pid: number; workerPids: number[] }
  | {
      type: 'exited';
      pid: number;
      exitCode: number | undefined;
      signal: string | undefined;
      expected: boolean;
    }
  | {
      type: 'restarted';
      pid: number;
      /** Restarts since the runner was created. */
      restarts: number;
      attempt: number;
    }
  | { type: 'restart-failed'; error: unknown; attempt: number }
  | { type: 'crashloop'; error: NginxCrashLoopError }
  | { type: 'reloaded'; durationMs: number; workerPids: number[] }
  | { type: 'reload-failed'; error: NginxReloadFailedError };

export type NginxRunnerListener = (event: NginxRunnerEvent) => void;

export interface NginxTestResult {
  ok: boolean;
  /** Everything `nginx -t` printed. */
  output: string;
  /** The emerg/alert/crit lines (or, when it failed without any, every line). */
  errors: string[];
}

export interface NginxReloadResult {
  /** From the SIGHUP to the first new worker seen. */
  durationMs: number;
  /** The new generation's worker pids seen at that moment. */
  workerPids: number[];
}

/** Lines kept for capturing `[emerg]` output after a SIGHUP or a failed start. */
const RECENT_LINES_LIMIT = 1_000;

const WORKER_TITLE = 'nginx: worker process';
const SHUTTING_DOWN_SUFFIX = 'is shutting down';

function isWorker(child: ChildProcessInfo): boolean {
  return child.title.startsWith(WORKER_TITLE);
}

function isCurrentWorker(child: ChildProcessInfo): boolean {
  return isWorker(child) && !child.title.includes(SHUTTING_DOWN_SUFFIX);
}

/** Resolves true when `promise` settles within `ms`, false otherwise. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  const controller = new AbortController();
  const timer = sleep(ms, false, { signal: controller.signal }).catch(() => false);
  const won = await Promise.race([promise.then(() => true), timer]);
  controller.abort();
  return won;
}

export class NginxRunner {
  /** The `<file>.last-good` content of `path`, or undefined. */
  static lastKnownGood(path: string): Promise<string | undefined> {
    return lastKnownGood(path);
  }

  private readonly binary: string;
  private readonly prefix: string;
  private readonly configFile: string;
  private readonly logger: Logger;
  private readonly nginxLogger: Logger;
  private readonly exec: NginxExec;
  private readonly startTimeoutMs: number;
  private readonly reloadTimeoutMs: number;
  private readonly stopTimeoutMs: number;
  private readonly killTimeoutMs: number;
  private readonly orphanGraceMs: number;
  private readonly pollIntervalMs: number;
  private readonly rejectSettleMs: number;
  private readonly backoff: RestartBackoff;
  private readonly policy: RestartPolicy;
  private readonly managedPaths: readonly string[];
  private readonly files = new ManagedFiles();
  private readonly reloads = new SerialQueue();
  private readonly fileOps = new SerialQueue();
  private readonly listeners = new Set<NginxRunnerListener>();

  private current: NginxProcessHandle | undefined;
  private runnerState: NginxRunnerState = 'idle';
  private stopRequested = false;
  private launching: Promise<unknown> | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private restarts = 0;
  private lines: { seq: number; line: NginxLogLine }[] = [];
  private lineSeq = 0;
  private lastLineAt = 0;
  private firstStartDone = false;

  constructor(options: NginxRunnerOptions) {
    this.binary = options.nginxBinary ?? '/usr/sbin/nginx';
    this.prefix = resolve(options.prefix);
    this.configFile = resolve(this.prefix, options.configFile);
    this.logger = (options.logger ?? silentLogger).child({ component: 'nginx-runner' });
    this.nginxLogger = (options.logger ?? silentLogger).child({ component: 'nginx' });
    this.exec = options.exec ?? new ExecaNginxExec();
    this.startTimeoutMs = options.startTimeoutMs ?? 10_000;
    this.reloadTimeoutMs = options.reloadTimeoutMs ?? 10_000;
    this.stopTimeoutMs = options.stopTimeoutMs ?? 10_000;
    this.killTimeoutMs = options.killTimeoutMs ?? 5_000;
    this.orphanGraceMs = options.orphanGraceMs ?? 2_000;
    this.pollIntervalMs = options.pollIntervalMs ?? 20;
    this.rejectSettleMs = options.rejectSettleMs ?? 750;
    this.backoff = { ...DEFAULT_RESTART_BACKOFF, ...options.restartBackoff };
    this.policy = new RestartPolicy(this.backoff);
    this.managedPaths = options.managedFiles ?? [];
  }

  get masterPid(): number | undefined {
    return this.current?.pid;
  }

  get state(): NginxRunnerState {
    return this.runnerState;
  }

  isRunning(): boolean {
    return this.current !== undefined && this.runnerState === 'running';
  }

  /** Subscribe to lifecycle events; returns the unsubscribe function. */
  onEvent(listener: NginxRunnerListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Worker pids of the master, old generations (still draining connections) included. */
  async workerPids(): Promise<number[]> {
    const pid = this.current?.pid;
    if (pid === undefined) return [];
    return (await this.exec.children(pid)).filter(isWorker).map((c) => c.pid);
  }

  async workerCount(): Promise<number> {
    return (await this.workerPids()).length;
  }

  /**
   * Starts NGINX and resolves once it has a worker (it is listening). Throws
   * `NginxStartFailedError` with NGINX's emerg lines when it exits or stalls first.
   */
  async start(): Promise<{ pid: number; workerPids: number[] }> {
    if (this.current && this.runnerState === 'running') {
      return { pid: this.current.pid, workerPids: await this.workerPids() };
    }
    this.stopRequested = false;
    this.policy.reset();
    this.setState('starting');
    if (!this.firstStartDone) {
      for (const path of this.managedPaths) {
        if (await this.files.restoreLastGood(path))
          this.logger.info({ path }, 'restored last known good file');
      }
      this.firstStartDone = true;
    }
    try {
      const handle = await this.track(this.launch());
      const workerPids = await this.workerPids();
      this.setState('running');
      this.emit({ type: 'started', pid: handle.pid, workerPids });
      return { pid: handle.pid, workerPids };
    } catch (error) {
      this.setState('idle');
      throw error;
    }
  }

  /** `nginx -t` on the files on disk; when `files` are given they are written (atomically) first. */
  async test(files?: readonly FileContent[]): Promise<NginxTestResult> {
    if (files) await this.writeFiles(files);
    const result = await this.exec.run(this.binary, [
      '-t',
      ...(await nginxArgsFor(this.prefix, this.configFile)),
    ]);
    const ok = result.exitCode === 0;
    let errors = failureLinesOf(result.output);
    if (!ok && errors.length === 0) errors = result.output.split('\n').filter((l) => l.trim().length > 0);
    if (ok) this.logger.debug('nginx -t passed');
    else this.logger.warn({ nginxErrors: errors }, 'nginx -t failed');
    return { ok, output: result.output, errors };
  }

  /** `test()`, throwing `NginxTestFailedError` when it fails. */
  async testOrThrow(files?: readonly FileContent[]): Promise<NginxTestResult> {
    const result = await this.test(files);
    if (!result.ok) {
      throw new NginxTestFailedError(`nginx -t failed: ${result.errors[0] ?? 'no diagnostics'}`, {
        nginxErrors: result.errors,
        output: result.output,
      });
    }
    return result;
  }

  /**
   * SIGHUP to our master, then wait for a new worker generation. Reloads are serialised. Throws
   * `NginxReloadFailedError` (NGINX still serves the previous config) with the emerg lines.
   */
  reload(): Promise<NginxReloadResult> {
    return this.reloads.run(async () => {
      try {
        const result = await this.reloadOnce();
        this.logger.info({ durationMs: result.durationMs, workerPids: result.workerPids }, 'nginx reloaded');
        this.emit({ type: 'reloaded', ...result });
        return result;
      } catch (error) {
        if (error instanceof NginxReloadFailedError) {
          this.logger.error(
            { code: error.code, reason: error.reason, nginxErrors: error.nginxErrors },
            error.message,
          );
          this.emit({ type: 'reload-failed', error });
        }
        throw error;
      }
    });
  }

  /** Writes each file atomically, remembering what to roll back to. */
  writeFiles(files: readonly FileContent[]): Promise<void> {
    return this.fileOps.run(() => this.files.write(files));
  }

  /** The files written since the last commit become the last known good set (also as `<file>.last-good`). */
  commit(): Promise<string[]> {
    return this.fileOps.run(() => this.files.commit());
  }

  /** Restores the last known good content of every file written since the last commit. */
  rollback(): Promise<string[]> {
    return this.fileOps.run(async () => {
      const restored = await this.files.rollback();
      if (restored.length > 0) this.logger.warn({ paths: restored }, 'rolled back to last known good files');
      return restored;
    });
  }

  /** Puts `<path>.last-good` back in place of `path`; false when there is no such copy. */
  restoreLastGood(path: string): Promise<boolean> {
    return this.fileOps.run(() => this.files.restoreLastGood(path));
  }

  /**
   * Graceful stop: SIGQUIT (workers finish their requests), SIGTERM after `stopTimeoutMs`, SIGKILL
   * to the whole process group after `killTimeoutMs`. Resolves once the master and every process
   * of its group are gone. Also cancels a pending crash restart.
   */
  async stop(): Promise<void> {
    this.stopRequested = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    await this.launching?.catch(() => undefined);
    const handle = this.current;
    if (!handle) {
      this.setState('stopped');
      return;
    }
    this.setState('stopping');
    const { pid } = handle;
    this.exec.kill(pid, 'SIGQUIT');
    if (!(await settlesWithin(handle.exited, this.stopTimeoutMs))) {
      this.logger.warn(
        { pid, afterMs: this.stopTimeoutMs },
        'nginx did not quit gracefully, sending SIGTERM',
      );
      this.exec.kill(pid, 'SIGTERM');
      if (!(await settlesWithin(handle.exited, this.killTimeoutMs))) {
        this.logger.error({ pid, afterMs: this.killTimeoutMs }, 'nginx ignored SIGTERM, sending SIGKILL');
        this.exec.killGroup(pid, 'SIGKILL');
        await settlesWithin(handle.exited, this.killTimeoutMs);
      }
    }
    // The master waits for its workers before it exits, so normally the group is already empty.
    await this.clearGroup(pid, 0);
    if (this.current === handle) this.current = undefined;
    this.setState('stopped');
  }

  private setState(state: NginxRunnerState): void {
    this.runnerState = state;
  }

  private emit(event: NginxRunnerEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        this.logger.error({ err: error, event: event.type }, 'nginx runner event listener threw');
      }
    }
  }

  private track<T>(promise: Promise<T>): Promise<T> {
    this.launching = promise;
    promise
      .finally(() => {
        if (this.launching === promise) this.launching = undefined;
      })
      .catch(() => undefined);
    return promise;
  }

  private onLine(raw: string, stream: OutputStream): void {
    const line = parseNginxLogLine(raw, stream);
    forwardNginxLine(this.nginxLogger, line);
    this.lineSeq += 1;
    this.lastLineAt = Date.now();
    this.lines.push({ seq: this.lineSeq, line });
    if (this.lines.length > RECENT_LINES_LIMIT) this.lines.splice(0, this.lines.length - RECENT_LINES_LIMIT);
  }

  private failureLinesAfter(seq: number): string[] {
    return this.lines.filter((l) => l.seq > seq && isFailureLine(l.line)).map((l) => l.line.raw);
  }

  /** Spawns the master and waits for its first worker. */
  private async launch(): Promise<NginxProcessHandle> {
    const args = await nginxArgsFor(this.prefix, this.configFile);
    const fromSeq = this.lineSeq;
    let handle: NginxProcessHandle;
    try {
      handle = this.exec.spawn(this.binary, args, (raw, stream) => this.onLine(raw, stream));
    } catch (error) {
      throw new NginxStartFailedError(`cannot spawn ${this.binary}`, { nginxErrors: [], cause: error });
    }
    let exit: NginxExitInfo | undefined;
    void handle.exited.then((info) => {
      exit = info;
    });
    const deadline = Date.now() + this.startTimeoutMs;
    for (;;) {
      if (exit) {
        const nginxErrors = this.failureLinesAfter(fromSeq);
        throw new NginxStartFailedError(
          `nginx exited during start (${exit.signal ?? `code ${exit.exitCode}`}): ${nginxErrors[0] ?? 'no diagnostics'}`,
          { nginxErrors, ...this.exitDetails(exit) },
        );
      }
      const children = await this.exec.children(handle.pid);
      if (children.some(isCurrentWorker)) break;
      if (Date.now() >= deadline) {
        this.exec.killGroup(handle.pid, 'SIGKILL');
        await settlesWithin(handle.exited, this.killTimeoutMs);
        const nginxErrors = this.failureLinesAfter(fromSeq);
        throw new NginxStartFailedError(`nginx started no worker within ${this.startTimeoutMs} ms`, {
          nginxErrors,
        });
      }
      await sleep(this.pollIntervalMs);
    }
    this.current = handle;
    void handle.exited
      .then((info) => this.onExit(handle, info))
      .catch((error: unknown) => this.logger.error({ err: error }, 'nginx exit handling failed'));
    this.logger.info({ pid: handle.pid }, 'nginx started');
    return handle;
  }

  private exitDetails(exit: NginxExitInfo): { exitCode?: number; signal?: string } {
    return {
      ...(exit.exitCode === undefined ? {} : { exitCode: exit.exitCode }),
      ...(exit.signal === undefined ? {} : { signal: exit.signal }),
    };
  }

  private async onExit(handle: NginxProcessHandle, info: NginxExitInfo): Promise<void> {
    if (this.current !== handle) return;
    const expected = this.stopRequested;
    if (expected) {
      this.emit({ type: 'exited', pid: handle.pid, exitCode: info.exitCode, signal: info.signal, expected });
      return;
    }
    this.current = undefined;
    this.setState('restarting');
    this.logger.error({ pid: handle.pid, ...info }, 'nginx exited unexpectedly');
    this.emit({ type: 'exited', pid: handle.pid, exitCode: info.exitCode, signal: info.signal, expected });
    // A master killed hard leaves its workers behind, still holding the listening sockets the next
    // master must bind. SIGQUIT lets them finish their requests (and close the listeners at once).
    await this.clearGroup(handle.pid, this.orphanGraceMs);
    this.scheduleRestart();
  }

  /** Quits what is left of process group `pgid`: SIGQUIT, `graceMs`, then SIGKILL; bounded waits. */
  private async clearGroup(pgid: number, graceMs: number): Promise<void> {
    if ((await this.exec.groupMembers(pgid)).length === 0) return;
    if (graceMs > 0) {
      this.exec.killGroup(pgid, 'SIGQUIT');
      if (await this.waitGroupGone(pgid, graceMs)) return;
    }
    this.logger.warn({ pgid }, 'killing leftover nginx processes');
    this.exec.killGroup(pgid, 'SIGKILL');
    // Zombies are not counted, so this waits only for processes still on their way out.
    if (!(await this.waitGroupGone(pgid, this.killTimeoutMs))) {
      this.logger.error({ pgid }, 'nginx processes still present after SIGKILL (unreaped zombies?)');
    }
  }

  private async waitGroupGone(pgid: number, ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while ((await this.exec.groupMembers(pgid)).length > 0) {
      if (Date.now() >= deadline) return false;
      await sleep(this.pollIntervalMs);
    }
    return true;
  }

  private scheduleRestart(): void {
    if (this.stopRequested) return;
    const decision = this.policy.onCrash(Date.now());
    if (decision.action === 'give-up') {
      const error = new NginxCrashLoopError(
        `nginx crashed ${decision.restartsInWindow + 1} times within ${this.backoff.windowMs} ms; not restarting`,
        { restarts: decision.restartsInWindow, windowMs: this.backoff.windowMs },
      );
      this.setState('crashloop');
      this.logger.fatal({ code: error.code, restarts: error.restarts }, error.message);
      this.emit({ type: 'crashloop', error });
      return;
    }
    this.logger.warn({ delayMs: decision.delayMs, attempt: decision.attempt }, 'restarting nginx');
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.stopRequested) return;
      this.track(this.launch()).then(
        (handle) => {
          if (this.stopRequested) return;
          this.restarts += 1;
          this.setState('running');
          this.emit({
            type: 'restarted',
            pid: handle.pid,
            restarts: this.restarts,
            attempt: decision.attempt,
          });
        },
        (error: unknown) => {
          this.logger.error({ err: error, attempt: decision.attempt }, 'nginx restart failed');
          this.emit({ type: 'restart-failed', error, attempt: decision.attempt });
          this.scheduleRestart();
        },
      );
    }, decision.delayMs);
  }

  private async reloadOnce(): Promise<NginxReloadResult> {
    const handle = this.current;
    if (!handle || this.runnerState !== 'running') {
      throw new NginxReloadFailedError(`nginx is not running (state ${this.runnerState})`, {
        nginxErrors: [],
        reason: 'not-running',
      });
    }
    const before = new Set((await this.exec.children(handle.pid)).map((c) => c.pid));
    const fromSeq = this.lineSeq;
    const startedAt = performance.now();
    if (!this.exec.kill(handle.pid, 'SIGHUP')) {
      throw new NginxReloadFailedError('nginx master is gone', { nginxErrors: [], reason: 'not-running' });
    }
    const deadline = startedAt + this.reloadTimeoutMs;
    for (;;) {
      const current = (await this.exec.children(handle.pid)).filter(isCurrentWorker);
      const fresh = current.filter((c) => !before.has(c.pid));
      // Confirmed when a new worker is up AND no old worker still accepts: old workers retitle
      // themselves "is shutting down" as they close their listening sockets. Until then a new
      // connection may still land on the old config.
      if (fresh.length > 0 && fresh.length === current.length) {
        return { durationMs: performance.now() - startedAt, workerPids: fresh.map((c) => c.pid) };
      }
      const nginxErrors = this.failureLinesAfter(fromSeq);
      if (this.current !== handle) {
        throw new NginxReloadFailedError('nginx exited during reload', {
          nginxErrors,
          reason: 'not-running',
        });
      }
      if (nginxErrors.length > 0 && Date.now() - this.lastLineAt >= this.rejectSettleMs) {
        throw new NginxReloadFailedError(`nginx rejected the new config: ${nginxErrors.at(-1)}`, {
          nginxErrors,
          reason: 'rejected',
        });
      }
      if (performance.now() >= deadline) {
        throw new NginxReloadFailedError(`no new nginx workers within ${this.reloadTimeoutMs} ms`, {
          nginxErrors,
          reason: 'timeout',
        });
      }
      await sleep(this.pollIntervalMs);
    }
  }
}
