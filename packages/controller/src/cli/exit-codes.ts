/**
 * One exit-code scheme for every command (documented in `ecs-ingress --help` and the README):
 *   0  done (a daemon: after a clean shutdown);
 *   1  runtime failure: the command was right but failed while running (NGINX refused or died,
 *      AWS kept failing, a write failed, `--strict` met an invalid line, shutdown did not finish;
 *      `lint`: a route label is invalid or a route is in conflict);
 *   2  usage or configuration: a flag, argument or environment variable is wrong, or a path it
 *      names is missing or of the wrong kind (commander's own errors included).
 * `replay --out` stopped by SIGINT/SIGTERM exits as the shell would report it: 128 + the signal's
 * number (130, 143), with nothing written.
 */
import { CommanderError } from 'commander';

const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
export type ExitCode = typeof EXIT_OK | typeof EXIT_FAILURE | typeof EXIT_USAGE;

/** Codes of errors that mean "fix the invocation or the configuration" (exit 2). */
const USAGE_ERROR_CODES: ReadonlySet<string> = new Set([
  'ECS_INGRESS_CONFIG_INVALID',
  'ECS_INGRESS_USAGE',
  'ECS_INGRESS_REPLAY_INPUT_INVALID',
]);

/** The exit code of a failure: 2 for usage and configuration errors, 1 for everything else. */
export function exitCodeFor(error: unknown): ExitCode {
  if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && USAGE_ERROR_CODES.has(code) ? EXIT_USAGE : EXIT_FAILURE;
}

export const EXIT_CODES_HELP = `
Exit codes (every command):
  0  done (a daemon: after a clean shutdown)
  1  runtime failure (NGINX refused or died, AWS kept failing, a write failed, --strict met an invalid line; lint: an invalid label or a conflict)
  2  usage or configuration error (a flag, argument or environment variable is wrong, or a path it names is
     missing or of the wrong kind)
`;
