import { Command, CommanderError } from 'commander';
import { registerBootstrap } from './commands/bootstrap.js';
import { registerDemo } from './commands/demo.js';
import { registerLint } from './commands/lint.js';
import { registerRecord } from './commands/record.js';
import { registerReplay } from './commands/replay.js';
import { registerRun } from './commands/run.js';
import { registerTeardown } from './commands/teardown.js';
import { EXIT_CODES_HELP, EXIT_FAILURE, exitCodeFor } from './exit-codes.js';
import { cliVersion } from './version.js';

/** `ecs-ingress <command>`: every command lives in its own file under ./commands. */
export function buildProgram(): Command {
  const program = new Command('ecs-ingress')
    .description('Ingress controller for Amazon ECS: keeps NGINX upstreams equal to the running tasks.')
    .version(cliVersion(), '-V, --version', 'print the version and exit')
    // Commander's own errors (unknown option, missing argument, bad value) throw instead of exiting
    // with 1, so that runCli can map them to 2 (usage); set before the commands so they inherit it.
    .exitOverride()
    .showHelpAfterError()
    .enablePositionalOptions()
    .addHelpText('after', EXIT_CODES_HELP);
  registerRun(program);
  registerReplay(program);
  registerRecord(program);
  registerDemo(program);
  registerLint(program);
  registerBootstrap(program);
  registerTeardown(program);
  return program;
}

/**
 * Parses `argv` and runs the command; resolves with the exit code the process should end with:
 * the code a command set (`process.exitCode`: 0, 1, 2, or 128+N for a command stopped by signal N
 * before it finished), 2 for commander's usage errors, 0 for `--help` and `--version`, 1 for an
 * unexpected failure (reported on stderr).
 */
export async function runCli(
  argv: readonly string[],
  program: Command = buildProgram(),
  stderr: (text: string) => void = (text) => process.stderr.write(text),
): Promise<number> {
  try {
    await program.parseAsync([...argv]);
  } catch (error) {
    if (error instanceof CommanderError) return exitCodeFor(error);
    stderr(`ecs-ingress: ${error instanceof Error ? error.message : String(error)}\n`);
    return exitCodeFor(error) === 2 ? 2 : EXIT_FAILURE;
  }
  const code = Number(process.exitCode ?? 0);
  return Number.isInteger(code) && code >= 0 && code <= 255 ? code : EXIT_FAILURE;
}
