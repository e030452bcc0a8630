// Runs vitest in every package (one at a time: integration tests start real NGINX processes)
// and prints one closing line "N passed, N failed" over the whole workspace.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const packages = ['types', 'renderer', 'nginx-runner', 'controller'];
const outDir = mkdtempSync(join(tmpdir(), 'ecs-ingress-tests-'));
let passed = 0;
let failed = 0;
let skipped = 0;
let exitCode = 0;
for (const pkg of packages) {
  const dir = join(root, 'packages', pkg);
  const out = join(outDir, `${pkg}.json`);
  process.stdout.write(`\n=== @ecs-ingress/${pkg}\n`);
  const r = spawnSync(
    'pnpm',
    [
      'exec',
      'vitest',
      'run',
      '--passWithNoTests',
      '--reporter=default',
      '--reporter=json',
      `--outputFile.json=${out}`,
    ],
    { cwd: dir, stdio: 'inherit' },
  );
  if (r.status !== 0) exitCode = 1;
  if (existsSync(out)) {
    const report = JSON.parse(readFileSync(out, 'utf8'));
    passed += report.numPassedTests ?? 0;
    failed += report.numFailedTests ?? 0;
    skipped += (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
  } else {
    exitCode = 1;
    process.stdout.write(`no report for ${pkg}\n`);
  }
}
if (passed === 0) exitCode = 1;
process.stdout.write(`\n${passed} passed, ${failed} failed, ${skipped} skipped\n`);
process.exit(exitCode || (failed > 0 ? 1 : 0));
