/**
 * HTTP backends for the churn experiment, in a CHILD process: under load they would otherwise share
 * the event loop with the reconciler and the pushes they are meant to measure, and a busy loop
 * delays those timers (measured: tens of ms on a 2-core machine). Arrival times are taken with
 * `sharedClock()`: the child and the parent each read the same system-wide clock (CLOCK_MONOTONIC),
 * so no clock-offset estimate is needed — the former one-round-trip IPC estimate was itself off by
 * up to half a round trip, which a loaded machine stretches. The child exits when the parent
 * disconnects, so it cannot outlive a crashed test.
 */
import { type ChildProcess, spawn } from 'node:child_process';

/**
 * Milliseconds (µs resolution) on CLOCK_MONOTONIC: libuv's hrtime reads clock_gettime(CLOCK_MONOTONIC),
 * which on Linux is one clock for every process of the machine (same time namespace), so stamps
 * from the backend child and from this process compare directly. Not the epoch: only differences
 * mean anything. (timeOrigin + performance.now() is derived per process from its own start.)
 */
export function sharedClock(): number {
  // µs first, as a bigint, so the Number stays exact (ns since boot would pass 2^53 after ~104 days).
  return Number(process.hrtime.bigint() / 1000n) / 1000;
}

export interface FleetBackend {
  readonly name: string;
  readonly endpoint: string;
}

export interface BackendFleet {
  readonly backends: readonly FleetBackend[];
  /** Forgets every recorded arrival. */
  reset(): Promise<void>;
  /**
   * Per endpoint, in arrival order: arrival times and NGINX's dispatch times (its `$msec` in the
   * `X-Ecs-Ingress-Sent` request header, ms resolution, NaN when absent), both on `sharedClock()`.
   */
  collect(): Promise<Map<string, { arrivals: number[]; sent: number[] }>>;
  close(): Promise<void>;
}

// CommonJS, run with `node -e`: listens on each host:0, answers its name, records arrivals.
const CHILD = `
const http = require('node:http');
// Must read the same clock as sharedClock() in the parent: CLOCK_MONOTONIC, µs resolution.
const clock = () => Number(process.hrtime.bigint() / 1000n) / 1000;
const arrivals = new Map();
const sentAt = new Map();
const servers = [];
process.on('disconnect', () => process.exit(0));
process.on('message', async (msg) => {
  if (msg.cmd === 'start') {
    const ready = [];
    for (const spec of msg.specs) {
      const server = http.createServer((req, res) => {
        list.push(clock());
        sent.push(Number(req.headers['x-ecs-ingress-sent'] || 0) * 1000);
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(spec.name) });
        res.end(spec.name);
      });
      server.keepAliveTimeout = 60000;
      await new Promise((resolve, reject) => { server.once('error', reject); server.listen(0, spec.host, resolve); });
      const endpoint = spec.host + ':' + server.address().port;
      const list = [];
      const sent = [];
      arrivals.set(endpoint, list);
      sentAt.set(endpoint, sent);
      servers.push(server);
      ready.push({ name: spec.name, endpoint });
    }
    process.send({ id: msg.id, ready });
  } else if (msg.cmd === 'reset') {
    for (const list of arrivals.values()) list.length = 0;
    for (const list of sentAt.values()) list.length = 0;
    process.send({ id: msg.id });
  } else if (msg.cmd === 'collect') {
    process.send({ id: msg.id, arrivals: [...arrivals.entries()], sent: [...sentAt.entries()] });
  }
});
`;

interface Reply {
  id: number;
  ready?: FleetBackend[];
  arrivals?: [string, number[]][];
  sent?: [string, number[]][];
}

interface FleetChild {
  readonly ready: readonly FleetBackend[];
  ask(message: Record<string, unknown>): Promise<Reply>;
  close(): Promise<void>;
}

async function startChild(
  specs: readonly { name: string; host: string }[],
  nice: number,
): Promise<FleetChild> {
  // `nice` execs node in place, so the IPC channel (an inherited fd named in the environment) works.
  const [command, args] =
    nice === 0
      ? [process.execPath, ['-e', CHILD]]
      : ['/usr/bin/nice', ['-n', String(nice), process.execPath, '-e', CHILD]];
  const child: ChildProcess = spawn(command, args, {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let nextId = 0;
  const waiting = new Map<number, (reply: Reply) => void>();
  child.on('message', (reply: Reply) => {
    waiting.get(reply.id)?.(reply);
    waiting.delete(reply.id);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ask = (message: Record<string, unknown>) =>
    new Promise<Reply>((resolve, reject) => {
      const id = nextId++;
      const timer = setTimeout(
        () => reject(new Error(`backend fleet: no answer to ${String(message.cmd)}`)),
        30_000,
      );
      waiting.set(id, (reply) => {
        clearTimeout(timer);
        resolve(reply);
      });
      child.send({ ...message, id });
    });
  const started = await ask({ cmd: 'start', specs });
  return {
    ready: started.ready ?? [],
    ask,
    close: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.disconnect();
        const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(killer);
      }
    },
  };
}

/**
 * Starts child processes serving a backend per spec (`host` must be a loopback address): one by
 * default, or `processes` of them with the specs dealt round-robin (so one busy event loop does not
 * queue every backend's arrivals).
 */
export async function startBackendFleet(
  specs: readonly { name: string; host: string }[],
  options: {
    /**
     * Niceness of the children (default 0: not niced, so their arrival stamps are not delayed by
     * the scheduler). A positive value models backends on other hosts, as wrk is niced for the
     * clients: NGINX and the controller get the CPU first, and the backend-stamped times grow.
     */
    readonly nice?: number;
    /** Child processes to spread the backends over (default 1). */
    readonly processes?: number;
  } = {},
): Promise<BackendFleet> {
  const nice = options.nice ?? 0;
  const processes = Math.max(1, Math.min(options.processes ?? 1, specs.length));
  const groups = Array.from({ length: processes }, (_, p) => specs.filter((_, i) => i % processes === p));
  const children: FleetChild[] = [];
  try {
    for (const group of groups) children.push(await startChild(group, nice));
  } catch (err) {
    await Promise.all(children.map((child) => child.close()));
    throw err;
  }
  const byName = new Map(children.flatMap((child) => child.ready.map((b) => [b.name, b] as const)));
  return {
    backends: specs.map((spec) => byName.get(spec.name)).filter((b): b is FleetBackend => b !== undefined),
    reset: async () => {
      await Promise.all(children.map((child) => child.ask({ cmd: 'reset' })));
    },
    async collect() {
      const replies = await Promise.all(children.map((child) => child.ask({ cmd: 'collect' })));
      // NGINX's $msec is CLOCK_REALTIME (gettimeofday, like Date.now()); moved onto sharedClock()
      // with both clocks read here in one process (±1 ms: Date.now()'s resolution). Only the
      // clock-based late estimate uses it, with a 50 ms tolerance.
      const realtimeOffset = Date.now() - sharedClock();
      const out = new Map<string, { arrivals: number[]; sent: number[] }>();
      for (const reply of replies) {
        const sent = new Map(reply.sent ?? []);
        for (const [endpoint, times] of reply.arrivals ?? []) {
          out.set(endpoint, {
            arrivals: times,
            sent: (sent.get(endpoint) ?? []).map((t) => (t > 0 ? t - realtimeOffset : Number.NaN)),
          });
        }
      }
      return out;
    },
    close: async () => {
      await Promise.all(children.map((child) => child.close()));
    },
  };
}
