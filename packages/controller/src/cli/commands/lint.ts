import { join } from 'node:path';
import { RenderOptionError } from '@ecs-ingress/renderer';
import { ConfigError } from '@ecs-ingress/types';
import type { Command } from 'commander';
import {
  parseDefaultDomain,
  parseHostPolicy,
  parseTcpPorts,
  type RouteSettings,
} from '../../routes/route-settings.js';
import { EXIT_FAILURE, EXIT_USAGE, type ExitCode } from '../exit-codes.js';
import { LintInputError, readLintInputs } from '../lint/lint-input.js';
import { lintJson, lintServices, lintText } from '../lint/lint-report.js';

/** Flags of `ecs-ingress lint`. */
export interface LintCommandOptions {
  readonly json?: boolean;
  readonly bundleDir?: string;
  readonly httpListen?: string;
  readonly httpsListen?: string;
}

export interface LintCommandIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
}

const HELP_AFTER = `
Inputs (any number, in order):
  a task definition (.json): as \`aws ecs describe-task-definition\` prints it, with or without the
    "taskDefinition" wrapper, or a \`register-task-definition\` input; the service is named by its family;
  a recording (.jsonl, the replay format): every service in it, with the labels of its newest
    admitted task's definition.
  Seniority (the older service wins a conflict): recorded services in the order they first appear,
  then task definition files in argument order. A task definition whose family is a service already
  read is a new revision of it (its labels replace the old ones, it keeps its age): lint a deploy
  against a recording of the cluster.

Settings: the daemon's own variables ECS_INGRESS_HOST_POLICY, ECS_INGRESS_DEFAULT_DOMAIN and
ECS_INGRESS_TCP_PORTS; certificates are looked for under --bundle-dir (default
$ECS_INGRESS_WORK_DIR/current, i.e. /app/nginx/current).

Output: every route with its state (active, invalid, conflict) and reason (stable codes), then the
NGINX text the daemon would render for the http and stream contexts. --json prints one JSON document
instead: {ok, exitCode, files, services, routes, nginx: {http, stream, upstreams}}.

Exit codes:
  0  every route would be rendered (also when no service is exposed)
  1  a label is invalid, or a route is in conflict (an older service holds its host and path)
  2  usage: a wrong flag or variable, or an input that is missing, unreadable, too big, not JSON,
     or neither a task definition nor a recording

Examples:
  aws ecs describe-task-definition --task-definition shop > shop.json && ecs-ingress lint shop.json
  ecs-ingress lint cluster-recording.jsonl new-orders-taskdef.json --json
`;

export function registerLint(program: Command): void {
  program
    .command('lint')
    .description(
      'Check the route labels of task definitions or a recording: print the routes, any conflict and the NGINX text they would render (for CI before a deploy).',
    )
    .argument('<files...>', 'task definition JSON files and/or recordings (JSONL)')
    .option('--json', 'print one JSON document instead of text')
    .option('--bundle-dir <dir>', 'where tls=bundle:<name> certificates are (<dir>/tls/<name>.crt|.key)')
    .option('--http-listen <list>', 'listen addresses of the plain http servers, comma-separated', '80')
    .option('--https-listen <list>', 'listen addresses of the TLS servers, comma-separated', '443')
    .addHelpText('after', HELP_AFTER)
    .action(async (files: string[], options: LintCommandOptions) => {
      process.exitCode = await runLintCommand(files, options, {
        stdout: (text) => process.stdout.write(text),
        stderr: (text) => process.stderr.write(text),
        env: process.env,
      });
    });
}

/** The route settings from the daemon's variables; a malformed one is a `ConfigError` naming it. */
export function routeSettingsFromEnv(env: Readonly<Record<string, string | undefined>>): RouteSettings {
  const policy = env.ECS_INGRESS_HOST_POLICY?.trim();
  const domain = env.ECS_INGRESS_DEFAULT_DOMAIN?.trim();
  return {
    ...(policy ? { hostPolicy: parseHostPolicy(policy) } : {}),
    ...(domain ? { defaultDomain: parseDefaultDomain(domain) } : {}),
    tcpPorts: parseTcpPorts(env.ECS_INGRESS_TCP_PORTS ?? ''),
  };
}

const list = (text: string | undefined, fallback: string): string[] =>
  (text ?? fallback)
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '');

/** The `lint` command without commander or process globals. */
export async function runLintCommand(
  files: readonly string[],
  options: LintCommandOptions,
  io: LintCommandIo,
): Promise<ExitCode> {
  try {
    const settings = routeSettingsFromEnv(io.env);
    const inputs = await readLintInputs(files);
    const result = lintServices(inputs, settings, {
      bundleDir: options.bundleDir ?? join(io.env.ECS_INGRESS_WORK_DIR ?? '/app/nginx', 'current'),
      httpListen: list(options.httpListen, '80'),
      httpsListen: list(options.httpsListen, '443'),
    });
    io.stdout(options.json === true ? lintJson(result) : lintText(result));
    return result.exitCode;
  } catch (error) {
    const usage =
      error instanceof LintInputError || error instanceof ConfigError || error instanceof RenderOptionError;
    const message = error instanceof Error ? error.message : String(error);
    const code = (error as { code?: unknown }).code;
    io.stderr(`ecs-ingress lint: ${message}${typeof code === 'string' ? ` [${code}]` : ''}\n`);
    return usage ? EXIT_USAGE : EXIT_FAILURE;
  }
}
