#!/usr/bin/env node
/**
 * `pnpm bench`: runs every bench/*.bench.ts in turn (or the ones named on the command line); the
 * arguments from the first `--option` on go to each benchmark (`pnpm bench daemon.bench.ts --tasks 50000`).
 *
 * Most benchmarks drive NGINX, fauxqs or a fake AWS API, and find their Lua files and fixtures
 * relative to their own source files, so they run from source through tsx. The store benchmark
 * measures the controller process itself (events/s, peak RSS), so it runs the way the Docker image
 * runs the controller: compiled JavaScript (bundled here with esbuild; tsx's loader alone adds
 * ~50 MB of RSS in a thread of its own), started with the image's node flags.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { imageNodeFlags } from '../bench/image-node-flags.ts';

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..');
const benchDir = join(pkg, 'bench');
/** The node flags of the image's ENTRYPOINT (read from deploy/Dockerfile), for the compiled benchmarks. */
const IMAGE_NODE_FLAGS = imageNodeFlags();
/** Benchmarks of the controller process itself: compiled, with the image's flags. */
const COMPILED = new Set(['store.bench.ts', 'routes.bench.ts', 'routes-wired.bench.ts']);
/** Benchmarks that spawn the built CLI (packages/controller/dist) as the image runs it: build first. */
const NEEDS_BUILD = new Set(['daemon.bench.ts']);

const cli = process.argv.slice(2);
const firstOption = cli.findIndex((a) => a.startsWith('--'));
const names = firstOption === -1 ? cli : cli.slice(0, firstOption);
const passThrough = firstOption === -1 ? [] : cli.slice(firstOption);
const wanted = names.map((name) => basename(name));
const files = readdirSync(benchDir)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => wanted.length === 0 || wanted.includes(f))
  .sort();
if (files.length === 0) {
  process.stderr.write(`bench: no benchmark matches ${wanted.join(' ')}\n`);
  process.exit(2);
}

if (files.some((f) => NEEDS_BUILD.has(f))) {
  const built = spawnSync('pnpm', ['-s', 'build'], { stdio: 'inherit', cwd: join(pkg, '..', '..') });
  if (built.status !== 0) process.exit(built.status ?? 1);
}

for (const file of files) {
  process.stdout.write(`== bench/${file}\n`);
  let args;
  if (COMPILED.has(file)) {
    const outDir = join(pkg, '.bench-out');
    mkdirSync(outDir, { recursive: true });
    const outfile = join(outDir, file.replace(/\.ts$/, '.mjs'));
    await build({
      entryPoints: [join(benchDir, file)],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node24',
      conditions: ['source'],
      // Bundled CommonJS dependencies (zod, rxjs) may call require(); give the ESM bundle one.
      banner: {
        js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
      },
      outfile,
      logLevel: 'warning',
    });
    args = ['--expose-gc', ...IMAGE_NODE_FLAGS, outfile, ...passThrough];
  } else {
    args = ['--expose-gc', '--conditions=source', '--import', 'tsx', join(benchDir, file), ...passThrough];
  }
  const result = spawnSync(process.execPath, args, { stdio: 'inherit', cwd: pkg });
  if (result.status !== 0) process.exit(result.status ?? 1);
}
