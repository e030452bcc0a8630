// Runs vitest in every package (one at a time: integration tests start real NGINX processes)
// and prints one closing line "N passed, N failed" over the whole workspace.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
// The repository's own scripts (setup, runtime) first, then every package.
const suites = [
  ['scripts', join(root, 'scripts')],
  ...['types', 'store', 'renderer', 'nginx-runner', 'sources', 'testkit', 'controller'].map((p) => [
    `@ecs-ingress/${p}`,
    join(root, 'packages', p),
  ]),
];
const outDir = mkdtempSync(join(tmpdir(), 'ecs-ingress-tests-'));
let passed = 0;
let failed = 0;
let skipped = 0;
let exitCode = 0;
process.stdout.write(`Node.js ${process.version}\n`);
for (const [name, dir] of suites) {
  const out = join(outDir, `${name.replace(/\W/g, '_')}.json`);
  process.stdout.write(`\n=== ${name}\n`);
  // scripts/ is no package for `pnpm exec` to run in: its suite runs from the root, with --root.
  const r = spawnSync(
    'pnpm',
    [
      'exec',
      'vitest',
      'run',
      `--root=${dir}`,
      '--passWithNoTests',
      '--reporter=default',
      '--reporter=json',
      `--outputFile.json=${out}`,
    ],
    { cwd: name === 'scripts' ? root : dir, stdio: 'inherit' },
  );
  if (r.status !== 0) exitCode = 1;
  if (existsSync(out)) {
    const report = JSON.parse(readFileSync(out, 'utf8'));
    passed += report.numPassedTests ?? 0;
    failed += report.numFailedTests ?? 0;
    skipped += (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
  } else {
    exitCode = 1;
    process.stdout.write(`no report for ${name}\n`);
  }
}
if (passed === 0) exitCode = 1;
process.stdout.write(`\n${passed} passed, ${failed} failed, ${skipped} skipped\n`);
process.exit(exitCode || (failed > 0 ? 1 : 0));
