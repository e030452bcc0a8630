/**
 * Which AWS SDK client packages a child process loaded, seen from outside: start it with
 * `moduleLogEnv(file)` in its environment (NODE_OPTIONS preloads module-log-hook.ts), then read
 * `loadedAwsClients(file)`.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const HOOK = fileURLToPath(new URL('./module-log-hook.ts', import.meta.url));

/** The variables that make a Node process log the SDK clients it loads to `file`. */
export function moduleLogEnv(file: string): Record<string, string> {
  return { NODE_OPTIONS: `--import=${HOOK}`, ECS_INGRESS_TEST_MODULE_LOG: file };
}

/** The SDK client packages logged so far (`@aws-sdk/client-ecs`, …), sorted; none when no file yet. */
export async function loadedAwsClients(file: string): Promise<string[]> {
  const text = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return '';
    throw err;
  });
  return text
    .split('\n')
    .filter((line) => line !== '')
    .sort();
}
