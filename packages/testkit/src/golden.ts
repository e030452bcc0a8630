import { strictEqual } from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const GOLDEN_DIR = fileURLToPath(new URL('../../renderer/test/golden/', import.meta.url));

/**
 * Compares `text` with `packages/renderer/test/golden/<file>`. `UPDATE_GOLDEN=1` rewrites the file
 * instead; review the git diff afterwards, since a rewritten golden passes by definition.
 */
export function expectGolden(file: string, text: string): void {
  const path = `${GOLDEN_DIR}${file}`;
  if (process.env.UPDATE_GOLDEN === '1') {
    writeFileSync(path, text);
    return;
  }
  if (!existsSync(path)) {
    throw new Error(`golden file ${path} is missing: run with UPDATE_GOLDEN=1 to create it`);
  }
  strictEqual(text, readFileSync(path, 'utf8'), `differs from the golden file ${path}`);
}
