import type { Logger } from '@ecs-ingress/types';
import type { Command } from 'commander';
import { ConfigErrors, loadConfig } from '../../config/env.js';
import { withResolvedRegion } from '../../config/resolved-region.js';
import { formatConfigHelp } from '../../config/variables.js';
import { startDaemon } from '../../daemon/daemon.js';
import { codeOf, createLogger, UNCLASSIFIED_ERROR_CODE } from '../../log/logger.js';
import { installShutdownHandlers } from '../../runtime/shutdown.js';
import { EXIT_USAGE, exitCodeFor } from '../exit-codes.js';

const HELP_AFTER = `
Start-up: the event queue, a full sync from the ECS API, the NGINX config bundle (nginx -t), then
NGINX with the real upstreams (or at once with the last known good upstreams file while AWS is
unreachable). /readyz answers 200 once the first sync is applied. SIGTERM/SIGINT: sources stop, a
per-instance queue and rule are deleted, NGINX quits gracefully, exit 0.

Start-up errors name the variable to fix. Exit codes: 0 after a clean shutdown; 1 when start-up
failed for good (no valid config bundle and no last known good one, NGINX cannot start, the HTTP
port is taken) or shutdown did not finish; 2 invalid configuration (a variable's value, or a path it
names that is missing or not usable: ECS_INGRESS_NGINX_BINARY, NGINX_CONFIG_DIR, ECS_INGRESS_WORK_DIR,
the upstreams files' directories).

${formatConfigHelp()}
AWS credentials, region and retries come from the SDK's own configuration, as for every AWS tool:
the default credential chain; AWS_REGION, AWS_DEFAULT_REGION, else the profile's region
(AWS_PROFILE); AWS_MAX_ATTEMPTS and AWS_RETRY_MODE (or max_attempts / retry_mode in the profile).
AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE> (ECS, EC2, SQS, EVENTBRIDGE, S3) override endpoints.
`;

export function registerRun(program: Command): void {
  program
    .command('run')
    .description('Run the ingress daemon: watch ECS, keep NGINX upstreams equal to the running tasks.')
    .addHelpText('after', HELP_AFTER)
    .action(async () => {
      await runDaemon(process.env);
    });
}

/** The command body: returns when the daemon is running; the process exits from the shutdown handler. */
export async function runDaemon(env: NodeJS.ProcessEnv): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = await withResolvedRegion(loadConfig(env));
  } catch (err) {
    if (err instanceof ConfigErrors) {
      process.stderr.write(`ecs-ingress run: ${err.message}\n`);
      process.exitCode = EXIT_USAGE;
      return;
    }
    throw err;
  }
  const logger = createLogger({ level: config.logLevel });
  // A daemon keeps serving: an unexpected rejection (a bug) is logged with a code, not fatal.
  process.on('unhandledRejection', (err) => {
    logger.error({ err, code: 'ECS_INGRESS_UNHANDLED_REJECTION' }, 'unhandled promise rejection');
  });
  let daemon: Awaited<ReturnType<typeof startDaemon>>;
  try {
    daemon = await startDaemon(config, { logger });
  } catch (err) {
    if (err instanceof ConfigErrors) {
      process.stderr.write(`ecs-ingress run: ${err.message}\n`);
      process.exitCode = EXIT_USAGE;
      return;
    }
    logStartFailure(logger, err);
    process.exitCode = exitCodeFor(err);
    return;
  }
  const handle = installShutdownHandlers({ steps: daemon.shutdownSteps, logger });
  daemon.ready.catch(async (err: unknown) => {
    if (handle.isShuttingDown()) return;
    logStartFailure(logger, err);
    const code = await daemon.stop();
    handle.dispose();
    process.exit(code === 0 ? 1 : code);
  });
}

/**
 * One line that says why, once: our errors' messages already carry their cause (the bundle's
 * refusal, NGINX's own lines), so the line has the code and the variable to fix, not the chain again
 * (pino's `err` would append every cause's message a second and third time). An error without a
 * code of ours is a bug: its stack is kept.
 */
function logStartFailure(logger: Logger, err: unknown): void {
  const code = codeOf(err);
  const variable = (err as { variable?: unknown }).variable;
  const fields = {
    code: code ?? UNCLASSIFIED_ERROR_CODE,
    ...(typeof variable === 'string' ? { variable } : {}),
    ...(code?.startsWith('ECS_INGRESS_') ? {} : { err }),
  };
  logger.fatal(fields, `cannot start: ${err instanceof Error ? err.message : String(err)}`);
}
