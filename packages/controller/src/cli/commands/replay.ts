import { dirname, join, resolve } from 'node:path';
import type { ReplaySpeed } from '@ecs-ingress/sources';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { checkExecutable } from '../../daemon/startup-checks.js';
import { EXIT_USAGE, type ExitCode, exitCodeFor } from '../exit-codes.js';
import { defaultReplayModel } from '../replay/default-model.js';
import { checkOutDir, checkRecordingPath } from '../replay/replay-input.js';
import { replayToFile, UPSTREAMS_FILE_NAME } from '../replay/replay-to-file.js';

/** Flags of `ecs-ingress replay`, as commander hands them over. */
export interface ReplayCommandOptions {
  readonly out?: string;
  readonly nginx?: string;
  readonly upstreamsFile?: string;
  readonly prefix?: string;
  readonly nginxBinary?: string;
  readonly speed?: number;
  readonly instant?: boolean;
  readonly maxGap?: number;
  readonly hold?: boolean;
  readonly cluster?: string;
  readonly strict?: boolean;
  readonly localBackends?: boolean;
}

/** Where the command writes, one call per line; and a signal that ends `--hold` (tests). */
export interface ReplayCommandIo {
  readonly stdout: (line: string) => void;
  readonly stderr: (line: string) => void;
  /**
   * Ends a live replay early, and a `--hold`; stops `--out` before it writes anything. The CLI
   * wires it to SIGINT/SIGTERM (the abort reason names the signal).
   */
  readonly signal?: AbortSignal;
}

/**
 * Exit codes (the CLI's scheme): 0 done; 1 `--strict` met an invalid line, NGINX failed, or the
 * output could not be written; 2 usage: a wrong flag, or a recording or `--out` path that is
 * missing, of the wrong kind, or holds no valid line; `--out` stopped by SIGINT/SIGTERM: 128 + the
 * signal's number (130, 143), nothing written.
 */
export type ReplayExitCode = ExitCode | 130 | 143;

const HELP_AFTER = `
Recording format (JSONL, one object per line):
  an EventBridge event exactly as an SQS body carries it (or an SNS notification wrapping one),
  or an observation line {"source":"ecs-ingress","detail-type":...,"time":...,"detail":...} with
  detail-type "Task Definition", "Container Instance", "Task Described" or "Cluster Snapshot".
  \`ecs-ingress record\` writes this format. Blank lines are skipped.

Clock:
  The replay runs on the recorded clock (an event's "time", a snapshot's "startedAt"), never the
  wall clock, so --out gives the same bytes every time. --nginx waits between lines for the recorded
  gap divided by --speed; a line older than the clock (out-of-order delivery) is applied at once.

Output:
  A malformed line is reported on stderr as "line <n>: invalid (<reason>): <message>" and the
  replay goes on. The last stdout line sums up: lines read, applied, stale/duplicate, ignored,
  invalid; upstreams and servers written.
  --nginx prints one line per applied change: the upstreams that changed, servers added (+) and
  removed (-), and how long the reload took.

  A file with no valid line at all (empty, binary, a document) fails with exit 2 and nothing is written.

Exit codes:
  0 done; 1 --strict met an invalid line (nothing written), NGINX failed, or the output could not be
  written; 2 usage: a wrong flag, or a recording or --out path that is missing, of the wrong kind
  (a directory, a file where a directory is needed), or holds no valid line; --out stopped by
  SIGINT/SIGTERM: 130/143 (128 + the signal's number), and nothing is written.

Examples:
  ecs-ingress replay packages/controller/fixtures/sample-recording.jsonl --out /tmp/replay
  ecs-ingress replay incident.jsonl --cluster prod --nginx ./nginx.conf --speed 10 --hold
  ecs-ingress replay incident.jsonl --nginx ./nginx.conf --local-backends --hold   # stubs on 127.x

--local-backends: a recording routes to the addresses of the recorded cluster, which --nginx would
really proxy to from this machine. With it, every address the recording ever routes to is served by
a stub on loopback that answers "<service> task <id> <address>" (the demo's backends), and NGINX
only sees the 127.x addresses. The mapping is printed first.
`;

export function registerReplay(program: Command): void {
  program
    .command('replay')
    .description(
      'Replay a recording of ECS events (JSONL) into the store, then write the upstreams file (--out) ' +
        'or drive a real NGINX at the recorded pace (--nginx).',
    )
    .argument('<file>', 'recording to replay (JSONL)')
    .option('--out <dir>', 'offline: write <dir>/upstreams.conf for the final state (directory created)')
    .option(
      '--nginx <nginx.conf>',
      'live: start NGINX with this main config (it must include the upstreams file)',
    )
    .option(
      '--upstreams-file <path>',
      'with --nginx: the upstreams file the config includes (default: upstreams.conf beside nginx.conf)',
    )
    .option(
      '--prefix <dir>',
      "with --nginx: NGINX's -p prefix for logs, pid and temp files (default: a new temp dir)",
    )
    .option('--nginx-binary <path>', 'with --nginx: the NGINX executable', '/usr/sbin/nginx')
    .addOption(
      new Option(
        '--speed <factor>',
        'with --nginx: replay at the recorded pace times <factor> (2 = twice as fast)',
      )
        .argParser(positiveNumber('--speed'))
        .conflicts('instant'),
    )
    .option('--instant', 'with --nginx: apply lines without waiting (changes still go through the debounce)')
    .addOption(
      new Option(
        '--max-gap <seconds>',
        'with --nginx: never wait longer than this (recorded seconds) between two lines',
      ).argParser(positiveNumber('--max-gap')),
    )
    .option('--hold', 'with --nginx: keep NGINX serving after the last line until SIGINT/SIGTERM')
    .option(
      '--local-backends',
      'with --nginx: serve every recorded address from a small stub on 127.x (nothing is proxied to the recorded hosts)',
    )
    .option(
      '--cluster <name|arn>',
      'keep one cluster: an ARN matches exactly, a name the last segment of the ARN',
    )
    .option('--strict', 'exit 1 on any invalid line (with --out, nothing is written)')
    .addHelpText('after', HELP_AFTER)
    .action(async (file: string, options: ReplayCommandOptions) => {
      const stops = abortOnSignals((line) => process.stderr.write(`${line}\n`));
      try {
        process.exitCode = await runReplayCommand(file, options, {
          stdout: (line) => process.stdout.write(`${line}\n`),
          stderr: (line) => process.stderr.write(`${line}\n`),
          signal: stops.signal,
        });
      } finally {
        stops.dispose();
      }
    });
}

/**
 * An AbortSignal that SIGINT/SIGTERM abort. The listeners stay until `dispose()`: a second Ctrl-C
 * while NGINX is being stopped must not fall back to the default action (kill this process), since
 * NGINX runs in its own process group and would be left running.
 */
export function abortOnSignals(
  stderr: (line: string) => void,
  signals: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM'],
): { readonly signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      stderr(`ecs-ingress replay: ${signal} again; already stopping`);
      return;
    }
    // The reason names the signal: `--out` exits 128 + its number.
    controller.abort(signal);
  };
  for (const signal of signals) process.on(signal, onSignal);
  return {
    signal: controller.signal,
    dispose: () => {
      for (const signal of signals) process.off(signal, onSignal);
    },
  };
}

/** The `replay` command without commander or process globals (tests call this). */
export async function runReplayCommand(
  file: string,
  options: ReplayCommandOptions,
  io: ReplayCommandIo,
): Promise<ReplayExitCode> {
  const usage = checkUsage(options);
  if (usage !== undefined) {
    io.stderr(`ecs-ingress replay: ${usage}`);
    return 2;
  }
  try {
    await checkRecordingPath(file);
    if (options.out !== undefined) {
      await checkOutDir(resolve(options.out), UPSTREAMS_FILE_NAME);
      const result = await replayToFile(defaultReplayModel, {
        file,
        outDir: options.out,
        ...(options.cluster === undefined ? {} : { cluster: options.cluster }),
        ...(options.strict === undefined ? {} : { strict: options.strict }),
        stdout: io.stdout,
        stderr: io.stderr,
        ...(io.signal === undefined ? {} : { signal: io.signal }),
      });
      return result.exitCode as ReplayExitCode;
    }
    const nginxConf = resolve(options.nginx ?? '');
    const binary = await checkExecutable('--nginx-binary', options.nginxBinary ?? '/usr/sbin/nginx');
    if (binary !== undefined) throw binary;
    const { replayToNginx } = await import('../replay/replay-to-nginx.js');
    const speed: ReplaySpeed = options.instant === true ? 'instant' : (options.speed ?? 1);
    return await replayToNginx(defaultReplayModel, {
      file,
      nginxConf,
      upstreamsFile: resolve(options.upstreamsFile ?? join(dirname(nginxConf), 'upstreams.conf')),
      speed,
      hold: options.hold === true,
      strict: options.strict === true,
      nginxBinary: options.nginxBinary ?? '/usr/sbin/nginx',
      ...(options.prefix === undefined ? {} : { prefix: resolve(options.prefix) }),
      ...(options.maxGap === undefined ? {} : { maxGapMs: options.maxGap * 1000 }),
      ...(options.cluster === undefined ? {} : { cluster: options.cluster }),
      ...(options.localBackends === true ? { localBackends: true } : {}),
      stdout: io.stdout,
      stderr: io.stderr,
      ...(io.signal === undefined ? {} : { signal: io.signal }),
    });
  } catch (error) {
    io.stderr(`ecs-ingress replay: ${describeError(error)}`);
    // Our input and output errors carry codes; a raw fs error from reading the recording is the
    // path the user gave (2); anything else failed while running (1).
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' && !code.startsWith('ECS_INGRESS_') ? EXIT_USAGE : exitCodeFor(error);
  }
}

function checkUsage(options: ReplayCommandOptions): string | undefined {
  if ((options.out === undefined) === (options.nginx === undefined)) {
    return 'give exactly one of --out <dir> (offline) or --nginx <nginx.conf> (live)';
  }
  if (options.out !== undefined) {
    const liveOnly = (
      ['upstreamsFile', 'prefix', 'speed', 'instant', 'maxGap', 'hold', 'localBackends'] as const
    ).filter((key) => options[key] !== undefined);
    if (liveOnly.length > 0) {
      return `${liveOnly.map(flagName).join(', ')} only applies with --nginx`;
    }
  }
  return undefined;
}

function flagName(key: string): string {
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

function positiveNumber(flag: string): (value: string) => number {
  return (value) => {
    const number = Number(value);
    if (value.trim() === '' || !Number.isFinite(number) || number <= 0) {
      throw new InvalidArgumentError(`${flag} must be a positive number, got ${JSON.stringify(value)}`);
    }
    return number;
  };
}

function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = 'code' in error && typeof error.code === 'string' ? ` [${error.code}]` : '';
    return `${error.message}${code}`;
  }
  return String(error);
}
