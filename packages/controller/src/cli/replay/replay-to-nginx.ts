/**
 * `ecs-ingress replay <file> --nginx <nginx.conf>`: the live replay. A real NGINX runs the user's
 * config through the controller runtime (store → reconciler → nginx-runner), and the recording is
 * fed to the store at the recorded pace × speed, so a production incident plays out locally with
 * the same debounce, tests and reloads as in production.
 *
 * Start: like the daemon, NGINX is not started on an empty state. Everything recorded at the first
 * instant of the recording (typically the recorder's task definitions, container instances and its
 * Cluster Snapshot) goes in first; NGINX starts on that state, then the clock runs.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lastGoodPathOf, NginxRunner } from '@ecs-ingress/nginx-runner';
import type { UpstreamDiff } from '@ecs-ingress/renderer';
import { paceRecording, type ReplaySpeed, readRecording } from '@ecs-ingress/sources';
import type { Logger } from '@ecs-ingress/types';
import { createLogger, type LogLevel, logLevelFromEnv } from '../../log/logger.js';
import type { ApplyFailure } from '../../reconciler/pipeline.js';
import { type RuntimeAppliedChange, type RuntimeStartInfo, startRuntime } from '../../runtime/runtime.js';
import { parseRenderedUpstreams } from '../../runtime/upstreams-text.js';
import { applyLine, emptyCounts, formatCounts, invalidLineReporter } from './apply-recording.js';
import { type ReplayBackends, startReplayBackends } from './local-backends.js';
import { nothingValidError, ReplayInputError } from './replay-input.js';
import type { ReplayModel } from './replay-model.js';

export interface ReplayToNginxOptions {
  readonly file: string;
  /** The user's main config (absolute). */
  readonly nginxConf: string;
  /** The upstreams file the config includes (absolute). */
  readonly upstreamsFile: string;
  readonly speed: ReplaySpeed;
  /** Keep serving after the last line until `signal` aborts. */
  readonly hold: boolean;
  /** Exit 1 when a line was invalid (the replay still runs to the end). */
  readonly strict?: boolean;
  readonly nginxBinary?: string;
  /** NGINX's `-p`; default a new temp dir (with `logs/`), removed at the end. */
  readonly prefix?: string;
  /** Longest wait between two lines, in recorded ms. */
  readonly maxGapMs?: number;
  readonly cluster?: string;
  /** Serve every recorded address from a stub on 127.x (local-backends.ts): nothing leaves the machine. */
  readonly localBackends?: boolean;
  readonly stdout: (line: string) => void;
  readonly stderr: (line: string) => void;
  /** Ends the replay (between lines) or the hold; NGINX is then stopped cleanly. */
  readonly signal?: AbortSignal;
  /** Reconciler timing (defaults: the daemon's 200 ms / 2 s debounce, 1 s between reloads). */
  readonly debounce?: { readonly minMs?: number; readonly maxMs?: number };
  readonly minReloadIntervalMs?: number;
  /** Structured logs (NGINX's own lines, runtime warnings). Default: JSON on stderr at `warn`. */
  readonly logger?: Logger;
}

/**
 * Runs the live replay; resolves with the exit code once NGINX has stopped.
 * 0: done (or interrupted); 1: NGINX did not start, an apply failed, or `strict` met an invalid line;
 * 2: nothing valid in the recording (NGINX is not started).
 */
export async function replayToNginx<S>(
  model: ReplayModel<S>,
  options: ReplayToNginxOptions,
): Promise<0 | 1 | 2> {
  const store = model.createStore();
  const logger = options.logger ?? createLogger({ level: quietLevel(), destination: 2 });
  const backends = options.localBackends === true ? await localBackends(model, options) : undefined;
  const ownPrefix = options.prefix === undefined;
  const prefix = options.prefix ?? (await mkdtemp(join(tmpdir(), 'ecs-ingress-replay-')));
  // NGINX opens <prefix>/logs/error.log before it reads the config unless told otherwise.
  await mkdir(join(prefix, 'logs'), { recursive: true });

  let clock: number | undefined;
  let failures = 0;
  let openGate!: () => void;
  const gate = new Promise<void>((resolve) => {
    openGate = resolve;
  });

  const runtime = startRuntime({
    nginx: {
      configFile: options.nginxConf,
      prefix,
      ...(options.nginxBinary === undefined ? {} : { binary: options.nginxBinary }),
    },
    upstreamsFile: options.upstreamsFile,
    store,
    derive: (state: S) => {
      const derived = model.derive(
        state,
        options.cluster === undefined ? {} : { clusterArn: options.cluster },
      );
      return backends === undefined ? derived : backends.map(derived);
    },
    startWhen: gate,
    logger,
    ...(options.debounce === undefined ? {} : { debounce: options.debounce }),
    ...(options.minReloadIntervalMs === undefined
      ? {}
      : { minReloadIntervalMs: options.minReloadIntervalMs }),
    onStarted: (info) => options.stdout(formatStarted(info, clock, options.upstreamsFile)),
    onApplied: (change) => options.stdout(formatApplied(change, clock)),
    onFailed: (failure) => {
      failures += 1;
      options.stderr(formatFailure(failure, clock));
    },
  });

  let started = false;
  /** Opens the start gate once and waits until NGINX serves (throws when it could not start). */
  const ensureStarted = async () => {
    if (started) return;
    started = true;
    openGate();
    await runtime.ready;
    // Started from a last known good file, NGINX serves before the gate reaches the reconciler.
    await runtime.reconciling;
  };

  const counts = emptyCounts();
  let interrupted = false;
  let inputInvalid = false;
  try {
    const readOptions = options.cluster === undefined ? {} : { cluster: options.cluster };
    const paced = paceRecording(readRecording(options.file, readOptions), {
      speed: options.speed,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      ...(options.maxGapMs === undefined ? {} : { maxGapMs: options.maxGapMs }),
      // The pacer waits only once the recording's first instant is over: start NGINX right there.
      sleep: async (ms, signal) => {
        await ensureStarted();
        await sleep(ms, signal);
      },
    });
    const invalidLines = invalidLineReporter(options.stderr);
    for await (const line of paced) {
      if (line.clock !== undefined) clock = line.clock;
      const { invalid } = applyLine(store, line, counts);
      if (invalid !== undefined) invalidLines.report(invalid, line.kind === 'invalid' ? line.raw : undefined);
    }
    invalidLines.finish();
    interrupted = options.signal?.aborted === true;
    // A wrong file (binary, a document, empty): say so, and never start NGINX on nothing.
    const nothingValid = interrupted
      ? undefined
      : nothingValidError(options.file, counts, invalidLines.sawBinary());
    if (nothingValid !== undefined) throw nothingValid;
    if (!interrupted) {
      await ensureStarted();
      // The last lines may still sit in the debounce; apply them now rather than after max wait.
      await runtime.flush();
    }
    const live = runtime.liveUpstreams();
    const servers = live.reduce((n, upstream) => n + upstream.servers.length, 0);
    options.stdout(
      `replay: ${formatCounts(counts)}; ${live.length} upstreams, ${servers} servers live in ${options.upstreamsFile}` +
        (interrupted ? ' (interrupted)' : ''),
    );
    if (options.hold && !interrupted) {
      options.stdout('holding: NGINX keeps serving; SIGINT or SIGTERM stops it');
      await untilAborted(options.signal);
    }
  } catch (error) {
    options.stderr(`ecs-ingress replay: ${error instanceof Error ? error.message : String(error)}`);
    if (error instanceof ReplayInputError) inputInvalid = true;
    else failures += 1;
  } finally {
    await runtime.stop();
    await backends?.close();
    if (ownPrefix) await rm(prefix, { recursive: true, force: true });
  }
  options.stdout('nginx stopped');
  if (inputInvalid) return 2;
  if (failures > 0) return 1;
  if (options.strict === true && counts.invalid > 0) return 1;
  return 0;
}

/**
 * Starts the stubs and prints the mapping. A last known good upstreams file that routes outside
 * loopback (an earlier replay without --local-backends) is set aside first: NGINX would start on it.
 */
async function localBackends<S>(
  model: ReplayModel<S>,
  options: ReplayToNginxOptions,
): Promise<ReplayBackends> {
  const lastGood = await NginxRunner.lastKnownGood(options.upstreamsFile);
  const routesOut = parseRenderedUpstreams(lastGood ?? '')?.upstreams.some((u) =>
    u.servers.some((s) => !s.address.startsWith('127.')),
  );
  if (routesOut === true) {
    await rm(lastGoodPathOf(options.upstreamsFile), { force: true });
    options.stdout(
      'local backends: the last known good upstreams file routes to recorded addresses; not used',
    );
  }
  const backends = await startReplayBackends(model, options.file, options.cluster);
  options.stdout(`local backends: ${backends.lines.length} recorded addresses served on loopback`);
  for (const line of backends.lines) options.stdout(`  ${line}`);
  return backends;
}

/** The CLI is for people: only warnings and errors as JSON on stderr unless the level is set. */
function quietLevel(): LogLevel {
  return process.env.ECS_INGRESS_LOG_LEVEL === undefined ? 'warn' : logLevelFromEnv();
}

/** `[09:00:47Z]`: the replay clock (recorded time) the line belongs to. */
function stamp(clock: number | undefined): string {
  return clock === undefined ? '[--:--:--]' : `[${new Date(clock).toISOString().slice(11, 19)}Z]`;
}

function formatStarted(info: RuntimeStartInfo, clock: number | undefined, upstreamsFile: string): string {
  const servers = info.upstreams.reduce((n, upstream) => n + upstream.servers.length, 0);
  const from = info.from === 'last-good' ? 'the last known good file' : 'the recorded state';
  return `${stamp(clock)} nginx started (pid ${info.pid}) from ${from}: ${info.upstreams.length} upstreams, ${servers} servers in ${upstreamsFile}`;
}

/** `[09:00:47Z] reload 41 ms: web +192.0.2.112:8080 -192.0.2.23:8080; +upstream worker` */
export function formatApplied(change: RuntimeAppliedChange, clock: number | undefined): string {
  const took = change.reloadDurationMs ?? change.durationMs;
  return `${stamp(clock)} reload ${Math.round(took)} ms: ${describeDiff(change.diff)}`;
}

export function describeDiff(diff: UpstreamDiff): string {
  const parts: string[] = [];
  for (const name of diff.upstreamsAdded) parts.push(`+upstream ${name}`);
  for (const name of diff.upstreamsRemoved) parts.push(`-upstream ${name}`);
  for (const change of diff.servers) {
    const servers = [...change.added.map((s) => `+${s}`), ...change.removed.map((s) => `-${s}`)];
    if (servers.length > 0) parts.push(`${change.name} ${servers.join(' ')}`);
  }
  return parts.length > 0 ? parts.join('; ') : 'no upstream change';
}

function formatFailure(failure: ApplyFailure, clock: number | undefined): string {
  return `${stamp(clock)} apply failed at ${failure.stage}: ${failure.error.message}; the previous config keeps serving`;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted || ms <= 0) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

function untilAborted(signal: AbortSignal | undefined): Promise<void> {
  if (signal === undefined) return new Promise(() => undefined);
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    signal.addEventListener('abort', () => resolve(), { once: true });
  });
}
