/**
 * The process operations the runner needs, behind an interface so unit tests hand in a fake and
 * integration tests (and production) use `ExecaNginxExec`. The runner never touches
 * `child_process`, signals or /proc directly.
 */

export interface NginxExitInfo {
  /** Undefined when the process was ended by a signal. */
  exitCode: number | undefined;
  /** e.g. `SIGKILL`; undefined on a normal exit. */
  signal: string | undefined;
}

export interface NginxProcessHandle {
  /** The master's pid. Spawned in its own process group, so it is also the group id. */
  readonly pid: number;
  /** Resolves (never rejects) once the process has exited and its output has been delivered. */
  readonly exited: Promise<NginxExitInfo>;
}

export interface NginxRunResult {
  exitCode: number | undefined;
  signal: string | undefined;
  /** stdout and stderr, interleaved as written. */
  output: string;
}

export interface ChildProcessInfo {
  pid: number;
  /** The process title NGINX sets, e.g. `nginx: worker process` or `nginx: worker process is shutting down`. */
  title: string;
}

export type OutputStream = 'stdout' | 'stderr';

export interface NginxExec {
  /**
   * Starts a long-running process in its own process group, calling `onLine` for every line it
   * prints. Throws when the binary cannot be spawned at all.
   */
  spawn(
    binary: string,
    args: readonly string[],
    onLine: (raw: string, stream: OutputStream) => void,
  ): NginxProcessHandle;
  /** Runs a short command (`nginx -t`) to completion. */
  run(binary: string, args: readonly string[]): Promise<NginxRunResult>;
  /** Sends `signal` to one pid; false when no such process exists any more. */
  kill(pid: number, signal: NodeJS.Signals): boolean;
  /** Sends `signal` to every process of group `pgid`; false when the group is empty. */
  killGroup(pgid: number, signal: NodeJS.Signals): boolean;
  /**
   * Live (non-zombie) processes of group `pgid`. Zombies are left out: they hold no sockets, and
   * orphans are reaped by init, not by us (in a container that needs an init that reaps, e.g. tini).
   */
  groupMembers(pgid: number): Promise<number[]>;
  /** The live children of `pid` with their titles; empty when `pid` is gone. */
  children(pid: number): Promise<ChildProcessInfo[]>;
}
