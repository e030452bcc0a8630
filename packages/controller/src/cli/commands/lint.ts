import { join, resolve } from 'node:path';
import { RenderOptionError } from '@ecs-ingress/renderer';
import { ConfigError } from '@ecs-ingress/types';
import type { Command } from 'commander';
import { ConfigErrors } from '../../config/env.js';
import { type RoutesConfig, readRoutesConfig } from '../../config/routes-env.js';
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
    the labels are those of the serving container (ecs-ingress.container, else the first with a TCP port);
  a recording (.jsonl, the replay format): every service in it, with the labels of its newest
    admitted task's definition.
  Seniority (the older service wins a conflict): as in the daemon, services already in the cluster
  (recorded) are equals, ties going by name; services that only a task definition file names are
  new, younger than those, in argument order. A task definition whose family is a service already
  read is a new revision of it (its labels replace the old ones, it keeps its age): lint a deploy
  against a recording of the cluster.

Settings: the daemon's own variables, read as the daemon reads them: ECS_INGRESS_HOST_POLICY,
ECS_INGRESS_DEFAULT_DOMAIN, ECS_INGRESS_TCP_PORTS, ECS_INGRESS_ROUTES_HTTP_LISTEN and
ECS_INGRESS_ROUTES_HTTPS_LISTEN; certificates are looked for under --bundle-dir (default
$ECS_INGRESS_WORK_DIR/current, i.e. /app/nginx/current, where the daemon points them).

Output: every route with its state (active, invalid, conflict) and reason (stable codes), then the
NGINX text the daemon would render for the http and stream contexts. --json prints one JSON document
instead: {ok, exitCode, files, services, routes, nginx: {http, stream, upstreams}}.

Exit codes:
  0  every route would be rendered (also when no service is exposed)
  1  a label is invalid, or a route is in conflict (an older service holds its host and path), or
     route labels sit where the daemon cannot read them (no serving container)
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
    .option(
      '--http-listen <list>',
      'listen addresses of the plain http servers, comma-separated (default: ECS_INGRESS_ROUTES_HTTP_LISTEN, else 80)',
    )
    .option(
      '--https-listen <list>',
      'listen addresses of the TLS servers, comma-separated (default: ECS_INGRESS_ROUTES_HTTPS_LISTEN, else 443)',
    )
    .addHelpText('after', HELP_AFTER)
    .action(async (files: string[], options: LintCommandOptions) => {
      process.exitCode = await runLintCommand(files, options, {
        stdout: (text) => process.stdout.write(text),
        stderr: (text) => process.stderr.write(text),
        env: process.env,
      });
    });
}

/**
 * The daemon's route variables, read by the daemon's own reader (config/routes-env.ts): the host
 * policy, default domain and tcp ports, and the listen addresses. Every malformed one is reported.
 */
export function lintConfigFromEnv(env: Readonly<Record<string, string | undefined>>): RoutesConfig {
  const errors: ConfigError[] = [];
  const raw = (name: string) => {
    const value = env[name]?.trim();
    return value === undefined || value === '' ? undefined : value;
  };
  const config = readRoutesConfig(
    {
      raw,
      path: (name, fallback) => resolve(raw(name) ?? fallback),
      fail: (name, message) => errors.push(new ConfigError(name, message)),
      oneOf: (name, allowed, fallback) => {
        const value = raw(name);
        if (value === undefined) return fallback;
        if ((allowed as readonly string[]).includes(value)) return value as typeof fallback;
        errors.push(new ConfigError(name, `must be one of ${allowed.join(', ')}`));
        return fallback;
      },
    },
    resolve(raw('ECS_INGRESS_UPSTREAMS_FILE') ?? '/app/nginx/upstreams.conf'),
  );
  if (errors.length > 0) throw new ConfigErrors(errors);
  return config;
}

const list = (text: string): string[] => text.split(/[\s,]+/).filter((part) => part !== '');

/** The `lint` command without commander or process globals. */
export async function runLintCommand(
  files: readonly string[],
  options: LintCommandOptions,
  io: LintCommandIo,
): Promise<ExitCode> {
  try {
    const config = lintConfigFromEnv(io.env);
    const inputs = await readLintInputs(files);
    const settings = {
      tcpPorts: config.tcpPorts,
      ...(config.hostPolicy === undefined ? {} : { hostPolicy: config.hostPolicy }),
      ...(config.defaultDomain === undefined ? {} : { defaultDomain: config.defaultDomain }),
    };
    const result = lintServices(inputs, settings, {
      bundleDir: resolve(
        options.bundleDir ?? join(io.env.ECS_INGRESS_WORK_DIR?.trim() || '/app/nginx', 'current'),
      ),
      httpListen: options.httpListen === undefined ? config.httpListen : list(options.httpListen),
      httpsListen: options.httpsListen === undefined ? config.httpsListen : list(options.httpsListen),
    });
    io.stdout(options.json === true ? lintJson(result) : lintText(result));
    return result.exitCode;
  } catch (error) {
    const usage =
      error instanceof LintInputError ||
      error instanceof ConfigErrors ||
      error instanceof ConfigError ||
      error instanceof RenderOptionError;
    const message = error instanceof Error ? error.message : String(error);
    const code = (error as { code?: unknown }).code;
    io.stderr(`ecs-ingress lint: ${message}${typeof code === 'string' ? ` [${code}]` : ''}\n`);
    return usage ? EXIT_USAGE : EXIT_FAILURE;
  }
}
