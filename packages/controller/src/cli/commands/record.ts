import { resolve } from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import { parseDurationMs } from '../../config/duration.js';
import { ConfigErrors, loadConfig } from '../../config/env.js';
import { withResolvedRegion } from '../../config/resolved-region.js';
import { formatConfigHelp } from '../../config/variables.js';
import { createDaemonClients } from '../../daemon/aws.js';
import { type RecordResult, startRecording } from '../../daemon/recorder.js';
import { createLogger } from '../../log/logger.js';

export interface RecordCommandOptions {
  readonly out: string;
  readonly duration?: number;
  readonly maxEvents?: number;
  readonly queueUrl?: string;
}

const HELP_AFTER = `
What is written (JSONL, the format \`replay\` reads):
  every full sync as "Task Definition", "Container Instance" and "Cluster Snapshot" lines;
  every queue message body exactly as received (written before the message is deleted);
  every health check answer as a "Task Described" line. Each line is flushed as it is written.

Queue: the same as \`run\` (ECS_INGRESS_QUEUE_MODE). In per-instance mode the recorder makes its own
queue and rule (instance id + "-record", so a daemon on the same host keeps its own) and removes
them at the end; --queue-url consumes an existing queue instead (shared).

Stops on SIGINT/SIGTERM, after --duration, or once --max-events queue messages are written (a
batch received together is written whole, so a few more may be). It stops at once even while AWS
is unreachable (the calls in flight are aborted): the file then holds what was written so far, and
the summary line is printed; a second signal while it closes is ignored.

${formatConfigHelp()}`;

function positiveInt(flag: string) {
  return (value: string): number => {
    if (!/^\d+$/.test(value) || Number(value) < 1)
      throw new InvalidArgumentError(`${flag} must be a positive integer`);
    return Number(value);
  };
}

function duration(value: string): number {
  const ms = parseDurationMs(value);
  if (ms === undefined || ms <= 0) throw new InvalidArgumentError('expected a duration like 30s, 5m or 1h');
  return ms;
}

export function registerRecord(program: Command): void {
  program
    .command('record')
    .description(
      "Record the cluster's ECS events and API observations as JSONL (the replay format), without NGINX.",
    )
    .requiredOption('--out <file>', 'the recording to write (truncated first)')
    .option('--duration <duration>', 'stop after this long (e.g. 10m)', duration)
    .option('--max-events <n>', 'stop after this many queue messages', positiveInt('--max-events'))
    .option('--queue-url <url>', 'consume this queue (shared mode) instead of ECS_INGRESS_QUEUE_MODE')
    .addHelpText('after', HELP_AFTER)
    .action(async (options: RecordCommandOptions) => {
      process.exitCode = await runRecord(options, process.env);
    });
}

/**
 * The command body of the `record` process (it installs SIGINT/SIGTERM listeners for the rest of
 * the process's life); resolves with the exit code (0 done, 2 bad configuration, 1 failure).
 */
export async function runRecord(options: RecordCommandOptions, env: NodeJS.ProcessEnv): Promise<number> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = await withResolvedRegion(
      loadConfig(
        options.queueUrl === undefined
          ? env
          : { ...env, ECS_INGRESS_QUEUE_MODE: 'shared', ECS_INGRESS_QUEUE_URL: options.queueUrl },
      ),
    );
  } catch (err) {
    if (err instanceof ConfigErrors) {
      process.stderr.write(`ecs-ingress record: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  // Logs on stderr: stdout carries the summary line.
  const logger = createLogger({ level: config.logLevel, destination: 2 });
  const clients = createDaemonClients({ region: config.region, endpoints: config.endpoints, logger });
  let result: RecordResult;
  try {
    const recording = startRecording({
      ...clients,
      cluster: config.clusterName,
      queue: {
        ...config.queue,
        instanceId: `${config.queue.instanceId}-record`,
        // A recorder is short-lived: it leaves reaping to the daemons.
        reapAfterMs: 0,
      },
      out: resolve(options.out),
      malformed: config.queue.malformed,
      resyncIntervalMs: config.resyncIntervalMs,
      pollIntervalMs: config.pollIntervalMs,
      graceMs: config.queue.graceMs,
      healthCheckIntervalMs: config.healthCheckIntervalMs,
      tombstoneTtlMs: config.tombstoneTtlMs,
      ...(options.duration === undefined ? {} : { durationMs: options.duration }),
      ...(options.maxEvents === undefined ? {} : { maxEvents: options.maxEvents }),
      logger,
    });
    // The first signal ends the recording (at once, even while AWS is unreachable); a later one is
    // only reported: the default action would kill the process before the file is closed and the
    // summary printed. The listeners stay until the process exits (they keep nothing alive).
    let signalled = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (signalled) {
        logger.warn({ signal }, 'already stopping the recording');
        return;
      }
      signalled = true;
      logger.info({ signal }, 'stopping the recording');
      void recording.stop();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    result = await recording.done;
  } finally {
    clients.destroy();
  }
  const o = result.observations;
  if (o['Cluster Snapshot'] === 0) {
    process.stderr.write(
      `ecs-ingress record: no full sync was recorded (AWS unreachable or refusing the calls? see the log); ${options.out} holds only what the queue delivered\n`,
    );
  }
  process.stdout.write(
    `recorded ${result.lines} lines to ${options.out}: ${result.events} queue messages, ` +
      `${o['Cluster Snapshot']} snapshots, ${o['Task Definition']} task definitions, ` +
      `${o['Container Instance']} container instances, ${o['Task Described']} described tasks (${result.reason})\n`,
  );
  return 0;
}
