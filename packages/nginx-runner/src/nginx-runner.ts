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
import type { Logger } from '@ecs-ingress/types';
import { silentLogger } from '@ecs-ingress/types';
import { NginxCrashLoopError, NginxReloadFailedError, NginxTestFailedError } from './errors.js';
import { ExecaNginxExec } from './execa-nginx-exec.js';
import { forwardNginxLine, parseNginxLogLine } from './log-lines.js';
import { type FileContent, lastKnownGood, ManagedFiles } from './managed-files.js';
import { launchMaster, quitMaster, reloadMaster } from './master-process.js';
import { nginxArgsFor } from './nginx-args.js';
import type { NginxExec, NginxExitInfo, NginxProcessHandle, OutputStream } from './nginx-exec.js';
import { testConfig } from './nginx-test.js';
import { clearProcessGroup } from './process-group.js';
import { RecentNginxLines } from './recent-lines.js';
import { DEFAULT_RESTART_BACKOFF, type RestartBackoff, RestartPolicy } from './restart-policy.js';
import type {
  NginxReloadResult,
  NginxRunnerEvent,
  NginxRunnerListener,
  NginxRunnerOptions,
  NginxRunnerState,
  NginxTestResult,
} from './runner-types.js';
import { SerialQueue } from './serial-queue.js';
import { isWorker } from './worker-generation.js';

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
  private readonly lines = new RecentNginxLines();
  /** Clearing a crashed master's orphans; stop() waits for it. */
  private crashCleanup: Promise<void> | undefined;
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
    // A deliberate start supersedes a pending crash restart.
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    await this.launching?.catch(() => undefined);
    await this.crashCleanup;
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
    return testConfig(this.exec, this.binary, this.prefix, this.configFile, this.logger);
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
    await this.crashCleanup;
    const handle = this.current;
    if (!handle) {
      this.setState('stopped');
      return;
    }
    this.setState('stopping');
    const { pid } = handle;
    await quitMaster(
      this.exec,
      handle,
      { stopTimeoutMs: this.stopTimeoutMs, killTimeoutMs: this.killTimeoutMs },
      this.logger,
    );
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
    this.lines.push(line);
  }

  /** Spawns the master and waits for its first worker. */
  private async launch(): Promise<NginxProcessHandle> {
    const handle = await launchMaster({
      exec: this.exec,
      binary: this.binary,
      args: await nginxArgsFor(this.prefix, this.configFile),
      lines: this.lines,
      onLine: (raw, stream) => this.onLine(raw, stream),
      startTimeoutMs: this.startTimeoutMs,
      killTimeoutMs: this.killTimeoutMs,
      pollIntervalMs: this.pollIntervalMs,
    });
    this.current = handle;
    void handle.exited
      .then((info) => this.onExit(handle, info))
      .catch((error: unknown) => this.logger.error({ err: error }, 'nginx exit handling failed'));
    this.logger.info({ pid: handle.pid }, 'nginx started');
    return handle;
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
    this.crashCleanup = this.clearGroup(handle.pid, this.orphanGraceMs);
    await this.crashCleanup;
    this.crashCleanup = undefined;
    this.scheduleRestart();
  }

  private async clearGroup(pgid: number, graceMs: number): Promise<void> {
    const options = { graceMs, killTimeoutMs: this.killTimeoutMs, pollIntervalMs: this.pollIntervalMs };
    await clearProcessGroup(this.exec, pgid, options, this.logger);
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
    return reloadMaster({
      exec: this.exec,
      handle,
      lines: this.lines,
      reloadTimeoutMs: this.reloadTimeoutMs,
      pollIntervalMs: this.pollIntervalMs,
      rejectSettleMs: this.rejectSettleMs,
      isCurrent: () => this.current === handle,
    });
  }
}
