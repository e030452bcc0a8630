/**
 * An in-memory `NginxExec` for unit tests: masters, workers and the process group behave like
 * NGINX's (SIGHUP forks a new generation or logs an emerg, SIGQUIT exits, a killed master leaves
 * orphaned workers in its group), without any process.
 */
import type {
  ChildProcessInfo,
  NginxExec,
  NginxExitInfo,
  NginxProcessHandle,
  NginxRunResult,
  OutputStream,
} from '@ecs-ingress/nginx-runner';

export type SpawnBehaviour = 'ok' | 'fail' | 'hang';
/** `new-generation`: like NGINX; `reject`: emerg and keep old workers; `ignore`: nothing happens. */
export type HupBehaviour = 'new-generation' | 'reject' | 'ignore';

const WORKER = 'nginx: worker process';
const SHUTTING_DOWN = 'nginx: worker process is shutting down';
const STEP_MS = 5;

interface FakeMaster {
  pid: number;
  alive: boolean;
  workers: ChildProcessInfo[];
  orphans: number[];
  onLine: (raw: string, stream: OutputStream) => void;
  exit: (info: NginxExitInfo) => void;
}

export class FakeNginxExec implements NginxExec {
  spawnBehaviour: SpawnBehaviour = 'ok';
  /** Behaviours for the next spawns, used before `spawnBehaviour` (deterministic sequences). */
  spawnQueue: SpawnBehaviour[] = [];
  hupBehaviour: HupBehaviour = 'new-generation';
  /** When true, old workers keep draining until `releaseDraining()` (an in-flight request). */
  holdDraining = false;
  /** When true, SIGQUIT is ignored (to test escalation to SIGTERM). */
  ignoreQuit = false;
  runResult: NginxRunResult = {
    exitCode: 0,
    signal: undefined,
    output: 'nginx: configuration file test is successful',
  };
  readonly spawned: { binary: string; args: readonly string[] }[] = [];
  readonly ran: (readonly string[])[] = [];
  readonly signals: { target: number; signal: NodeJS.Signals; group: boolean }[] = [];
  /** Set when a SIGHUP arrives while the previous one's generation is not up yet. */
  overlappingReloads = false;
  private readonly masters = new Map<number, FakeMaster>();
  private nextPid = 1000;
  private reloadInFlight = false;

  spawn(binary: string, args: readonly string[], onLine: (raw: string, stream: OutputStream) => void) {
    this.spawned.push({ binary, args });
    const pid = this.nextPid++;
    let exit!: (info: NginxExitInfo) => void;
    const exited = new Promise<NginxExitInfo>((resolve) => {
      exit = resolve;
    });
    const master: FakeMaster = { pid, alive: true, workers: [], orphans: [], onLine, exit };
    this.masters.set(pid, master);
    const behaviour = this.spawnQueue.shift() ?? this.spawnBehaviour;
    setTimeout(() => {
      if (behaviour === 'ok') {
        this.forkWorker(master);
      } else if (behaviour === 'fail') {
        onLine('nginx: [emerg] unknown directive "bogus" in /etc/nginx/nginx.conf:3', 'stderr');
        this.exitMaster(master, { exitCode: 1, signal: undefined });
      }
    }, STEP_MS);
    const handle: NginxProcessHandle = { pid, exited };
    return handle;
  }

  async run(_binary: string, args: readonly string[]): Promise<NginxRunResult> {
    this.ran.push(args);
    return this.runResult;
  }

  kill(pid: number, signal: NodeJS.Signals): boolean {
    this.signals.push({ target: pid, signal, group: false });
    const master = this.masters.get(pid);
    if (!master?.alive) return false;
    switch (signal) {
      case 'SIGHUP':
        this.hup(master);
        break;
      case 'SIGQUIT':
        if (!this.ignoreQuit) this.exitMaster(master, { exitCode: 0, signal: undefined });
        break;
      case 'SIGTERM':
        this.exitMaster(master, { exitCode: 0, signal: undefined });
        break;
      case 'SIGKILL':
        this.crash(pid);
        break;
      default:
        break;
    }
    return true;
  }

  killGroup(pgid: number, signal: NodeJS.Signals): boolean {
    this.signals.push({ target: pgid, signal, group: true });
    const master = this.masters.get(pgid);
    if (!master || (!master.alive && master.orphans.length === 0)) return false;
    master.orphans = [];
    if (master.alive) this.exitMaster(master, { exitCode: undefined, signal });
    return true;
  }

  async groupMembers(pgid: number): Promise<number[]> {
    const master = this.masters.get(pgid);
    if (!master) return [];
    return [...(master.alive ? [master.pid, ...master.workers.map((w) => w.pid)] : []), ...master.orphans];
  }

  async children(pid: number): Promise<ChildProcessInfo[]> {
    const master = this.masters.get(pid);
    return master?.alive ? master.workers.map((w) => ({ ...w })) : [];
  }

  /** The master dies as with SIGKILL; its workers stay behind as orphans in its group. */
  crash(pid: number): void {
    const master = this.masters.get(pid);
    if (!master?.alive) return;
    master.orphans = master.workers.map((w) => w.pid);
    master.workers = [];
    master.alive = false;
    master.exit({ exitCode: undefined, signal: 'SIGKILL' });
  }

  /** Lets every draining (old generation) worker exit. */
  releaseDraining(): void {
    for (const master of this.masters.values()) {
      master.workers = master.workers.filter((w) => w.title !== SHUTTING_DOWN);
    }
  }

  /** Emits a line from `pid` as NGINX's error log would. */
  log(pid: number, level: string, message: string): void {
    this.masters.get(pid)?.onLine(`2024/05/01 12:00:00 [${level}] ${pid}#${pid}: ${message}`, 'stderr');
  }

  private forkWorker(master: FakeMaster): number {
    const pid = this.nextPid++;
    master.workers.push({ pid, title: WORKER });
    this.log(master.pid, 'notice', `start worker process ${pid}`);
    return pid;
  }

  private hup(master: FakeMaster): void {
    if (this.reloadInFlight) this.overlappingReloads = true;
    this.reloadInFlight = true;
    this.log(master.pid, 'notice', 'signal 1 (SIGHUP) received, reconfiguring');
    const behaviour = this.hupBehaviour;
    setTimeout(() => {
      if (!master.alive) return;
      if (behaviour === 'new-generation') {
        const old = master.workers.filter((w) => w.title === WORKER);
        this.forkWorker(master);
        // Like NGINX: the old generation is told to quit a little after the new one started.
        setTimeout(() => {
          for (const w of old) w.title = SHUTTING_DOWN;
          this.reloadInFlight = false;
          if (!this.holdDraining) {
            setTimeout(() => {
              master.workers = master.workers.filter((w) => !old.includes(w));
            }, STEP_MS);
          }
        }, STEP_MS);
      } else {
        if (behaviour === 'reject') {
          this.log(master.pid, 'emerg', 'bind() to 127.0.0.1:8080 failed (98: Address already in use)');
        }
        this.reloadInFlight = false;
      }
    }, STEP_MS);
  }

  private exitMaster(master: FakeMaster, info: NginxExitInfo): void {
    if (!master.alive) return;
    master.alive = false;
    master.workers = [];
    master.exit(info);
  }
}
