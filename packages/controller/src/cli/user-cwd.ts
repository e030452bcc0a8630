/**
 * Where the user was when they started the CLI. `pnpm ecs-ingress …` (and `pnpm -w`, `pnpm -C`)
 * runs the root script in the workspace root, so relative paths (`--out ./x`, `NGINX_CONFIG_DIR=.`)
 * would resolve against the repository instead of the user's directory. pnpm and npm say where the
 * user was in INIT_CWD; it is trusted only when our own script is what runs (npm_lifecycle_event),
 * so a CLI started by some other script, with a stale INIT_CWD inherited, keeps its real cwd.
 */
const CLI_SCRIPT_NAME = 'ecs-ingress';

export function userCwd(env: Readonly<Record<string, string | undefined>>, cwd: string): string {
  const init = env.INIT_CWD;
  if (env.npm_lifecycle_event !== CLI_SCRIPT_NAME || init === undefined || init === '') return cwd;
  return init;
}
