/**
 * SIGTERM/SIGINT handling for a process that runs NGINX under the runtime. ECS sends SIGTERM on
 * `StopTask` and SIGKILL after the container's `stopTimeout` (default 30 s): the steps must fit
 * in that window, so the whole shutdown is bounded by `timeoutMs`.
 *
 * Steps run in order (stop the sources first, so nothing new enters the store; then the runtime,
 * which finishes the apply in flight and quits NGINX gracefully). Exit code 0 when every step
 * finished, 1 when one threw or the time ran out.
 */
import type { Logger } from '@ecs-ingress/types';
import { silentLogger } from '@ecs-ingress/types';

export interface ShutdownStep {
  readonly name: string;
  readonly run: () => Promise<void>;
}

export interface ShutdownOptions {
  readonly steps: readonly ShutdownStep[];
  readonly logger?: Logger;
  /** Default SIGTERM and SIGINT. */
  readonly signals?: readonly NodeJS.Signals[];
  /** Default 25 s: inside ECS's default 30 s stopTimeout. */
  readonly timeoutMs?: number;
  /** Default `process.exit`. */
  readonly exit?: (code: number) => void;
}

export interface ShutdownHandle {
  /** Runs the steps as a signal would (e.g. when the demo ends by itself), then exits. */
  shutdown(reason: string): Promise<number>;
  /** True once a signal or `shutdown()` started the steps. */
  isShuttingDown(): boolean;
  /** Removes the signal listeners. */
  dispose(): void;
}

/** Runs the steps in order; resolves with the exit code (0 when all finished in time). */
export async function runShutdownSteps(
  steps: readonly ShutdownStep[],
  logger: Logger,
  timeoutMs: number,
): Promise<number> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((res) => {
    timer = setTimeout(() => res('timeout'), timeoutMs);
  });
  const all = (async () => {
    let code = 0;
    for (const step of steps) {
      try {
        await step.run();
        logger.debug({ step: step.name }, 'shutdown step done');
      } catch (err) {
        code = 1;
        logger.error(
          { code: 'ECS_INGRESS_SHUTDOWN_STEP_FAILED', step: step.name, err },
          'shutdown step failed',
        );
      }
    }
    return code;
  })();
  const result = await Promise.race([all, timedOut]);
  clearTimeout(timer);
  if (result === 'timeout') {
    logger.error({ code: 'ECS_INGRESS_SHUTDOWN_TIMEOUT', timeoutMs }, 'shutdown did not finish in time');
    return 1;
  }
  return result;
}

/** Installs the signal handlers. A second signal while shutting down is logged and ignored. */
export function installShutdownHandlers(options: ShutdownOptions): ShutdownHandle {
  const logger = (options.logger ?? silentLogger).child({ component: 'shutdown' });
  const signals = options.signals ?? ['SIGTERM', 'SIGINT'];
  const exit = options.exit ?? ((code: number) => process.exit(code));
  let running: Promise<number> | undefined;

  function shutdown(reason: string): Promise<number> {
    if (running !== undefined) {
      logger.warn({ reason }, 'already shutting down');
      return running;
    }
    logger.info({ reason }, 'shutting down');
    running = runShutdownSteps(options.steps, logger, options.timeoutMs ?? 25_000).then((code) => {
      dispose();
      logger.info({ exitCode: code }, 'shutdown complete');
      exit(code);
      return code;
    });
    return running;
  }

  const handler = (signal: NodeJS.Signals) => {
    void shutdown(signal);
  };
  for (const signal of signals) process.on(signal, handler);

  function dispose(): void {
    for (const signal of signals) process.off(signal, handler);
  }

  return { shutdown, dispose, isShuttingDown: () => running !== undefined };
}
