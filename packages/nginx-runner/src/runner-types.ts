/** Options, events and results of `NginxRunner`. */
import type { Logger } from '@ecs-ingress/types';
import type { NginxCrashLoopError, NginxReloadFailedError } from './errors.js';
import type { NginxExec } from './nginx-exec.js';
import type { RestartBackoff } from './restart-policy.js';

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
