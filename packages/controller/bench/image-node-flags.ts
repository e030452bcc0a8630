import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** deploy/Dockerfile of this repository. */
const DOCKERFILE = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'deploy', 'Dockerfile');

/**
 * The `--` options between `node` and the script in the Dockerfile's exec-form ENTRYPOINT: the
 * node flags the image runs the controller with, so that benchmarks run it the same way.
 * (Plain TypeScript without enums or parameter properties: scripts/bench.mjs imports it with
 * Node 24's type stripping.)
 */
export function imageNodeFlags(dockerfile: string = DOCKERFILE): string[] {
  const line = readFileSync(dockerfile, 'utf8')
    .split('\n')
    .findLast((l) => l.startsWith('ENTRYPOINT '));
  if (line === undefined) throw new Error(`bench: no ENTRYPOINT in ${dockerfile}`);
  const argv = JSON.parse(line.slice('ENTRYPOINT '.length)) as string[];
  return argv.slice(argv.indexOf('node') + 1).filter((arg) => arg.startsWith('--'));
}
