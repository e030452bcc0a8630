/**
 * `ecs-ingress <args>` as a real child process, from the repo root with TypeScript through tsx (the
 * CLI is started by path: this package needs nothing from the controller's code).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(fileURLToPath(new URL('../../../../', import.meta.url)));
export const CLI_MAIN = join(REPO_ROOT, 'packages/controller/src/cli/main.ts');

/**
 * A minimal environment plus `env`: test credentials, and never the instance metadata service
 * (no wandering off for credentials or region), so only what the test names reaches the CLI.
 */
export function isolatedEnv(env: Record<string, string>): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/tmp',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_EC2_METADATA_DISABLED: 'true',
    ...env,
  };
}

/** `node --conditions=source --import tsx <CLI_MAIN> <args>` from the repo root. */
export function spawnEcsIngress(args: readonly string[], env?: Record<string, string>): ChildProcess {
  return spawn(process.execPath, ['--conditions=source', '--import', 'tsx', CLI_MAIN, ...args], {
    cwd: REPO_ROOT,
    ...(env === undefined ? {} : { env }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

export interface CliProcess {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * `ecs-ingress <args>`, its output collected. With `env`, the CLI sees `isolatedEnv(env)` instead of
 * this process's environment; with `killAfterMs`, SIGKILL when it is still running by then (the
 * test then fails on the exit).
 */
export function spawnCli(
  args: readonly string[],
  options: { env?: Record<string, string>; killAfterMs?: number } = {},
): CliProcess {
  const child = spawnEcsIngress(args, options.env === undefined ? undefined : isolatedEnv(options.env));
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    err += chunk;
  });
  const guard =
    options.killAfterMs === undefined
      ? undefined
      : setTimeout(() => child.kill('SIGKILL'), options.killAfterMs);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => {
      clearTimeout(guard);
      resolve({ code, signal });
    });
  });
  return { child, stdout: () => out, stderr: () => err, exited };
}

/** `spawnCli` run to its end: exit code (null when a signal ended it), signal and output. */
export async function runCli(
  args: readonly string[],
  options: { env?: Record<string, string>; killAfterMs?: number } = {},
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  const run = spawnCli(args, { killAfterMs: 60_000, ...options });
  const { code, signal } = await run.exited;
  return { code, signal, stdout: run.stdout(), stderr: run.stderr() };
}
