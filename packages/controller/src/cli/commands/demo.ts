import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { checkExecutable } from '../../daemon/startup-checks.js';
import type { DemoModeChoice } from '../../demo/demo-mode.js';
import { startDemo } from '../../demo/run-demo.js';
import { createLogger, logLevelFromEnv } from '../../log/logger.js';
import { installShutdownHandlers } from '../../runtime/shutdown.js';
import { EXIT_USAGE, exitCodeFor } from '../exit-codes.js';

function portOption(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new InvalidArgumentError('must be a port, 1..65535');
  return port;
}

function adminPortOption(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new InvalidArgumentError('must be a port, 0..65535 (0: a free one)');
  return port;
}

function speedOption(value: string): number {
  const speed = Number(value);
  if (!Number.isFinite(speed) || speed <= 0) throw new InvalidArgumentError('must be a number > 0');
  return speed;
}

function modeOption(value: string): DemoModeChoice {
  if (value === 'reload' || value === 'dynamic' || value === 'auto') return value;
  throw new InvalidArgumentError('must be reload, dynamic or auto');
}

interface DemoCommandOptions {
  mode: DemoModeChoice;
  port: number;
  streamPort?: number;
  adminPort: number;
  speed: number;
  once?: boolean;
  nginxBinary: string;
}

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description(
      'Self-contained demo on loopback: small backends stand in for ECS tasks, a real NGINX serves them, ' +
        'and a bundled scenario (start, scale-out, rolling deployment, a failed task, a Spot interruption) ' +
        'is replayed in real time. Prints the upstream mode, events, upstream changes and reloads as they happen.',
    )
    .option('--port <port>', 'HTTP port of the demo NGINX on 127.0.0.1', portOption, 8080)
    .option('--stream-port <port>', 'TCP (stream) proxy port on 127.0.0.1 (default: a free one)', portOption)
    .option(
      '--admin-port <port>',
      "the daemon's /metrics, /healthz, /readyz and /debug/* on 127.0.0.1 (0: a free port)",
      adminPortOption,
      10254,
    )
    .option('--speed <x>', 'replay speed factor (2 = twice as fast)', speedOption, 1)
    .option(
      '--mode <mode>',
      'upstream mode: reload, dynamic (endpoint changes without reload; needs the NGINX Lua modules), ' +
        'or auto (dynamic when libnginx-mod-http-ndk, libnginx-mod-http-lua and lua-resty-core are installed)',
      modeOption,
      'auto',
    )
    .option('--once', 'exit 0 once the scenario has played (default: keep serving until Ctrl-C)')
    .option('--nginx-binary <path>', 'NGINX binary', '/usr/sbin/nginx')
    .action(async (opts: DemoCommandOptions) => {
      // Our JSON logs go to stderr at warn and above (ECS_INGRESS_LOG_LEVEL overrides): stdout is the story.
      const level = process.env.ECS_INGRESS_LOG_LEVEL ? logLevelFromEnv() : 'warn';
      const logger = createLogger({ level, destination: 2 });
      const out = (line: string) => process.stdout.write(`${line}\n`);
      const binary = await checkExecutable('--nginx-binary', opts.nginxBinary);
      if (binary !== undefined) {
        process.stderr.write(`ecs-ingress demo: ${binary.message}\n`);
        process.exitCode = EXIT_USAGE;
        return;
      }
      const session = await startDemo({
        port: opts.port,
        speed: opts.speed,
        out,
        logger,
        nginxBinary: opts.nginxBinary,
        mode: opts.mode,
        adminPort: opts.adminPort,
        ...(opts.streamPort === undefined ? {} : { streamPort: opts.streamPort }),
      }).catch((error: unknown) => {
        process.stderr.write(`ecs-ingress demo: ${(error as Error).message}\n`);
        process.exit(exitCodeFor(error));
      });
      const shutdown = installShutdownHandlers({ steps: [{ name: 'demo', run: session.stop }], logger });
      try {
        await session.finished;
      } catch (error) {
        const message = (error as Error).message;
        const hint = message.includes('Address already in use') ? ' (choose another port with --port)' : '';
        process.stderr.write(`ecs-ingress demo: ${message}${hint}\n`);
        await session.stop().catch(() => undefined);
        process.exit(1);
      }
      if (opts.once || shutdown.isShuttingDown()) {
        await shutdown.shutdown('scenario finished (--once)');
        return;
      }
      out(`  NGINX keeps serving on 127.0.0.1:${session.httpPort}; Ctrl-C to stop.`);
    });
}
