// Regenerates docs/configuration.md's table from CONFIG_VARIABLES (the single source of truth).
// Run: pnpm exec tsx --conditions=source scripts/update-config-doc.ts
import { readFileSync, writeFileSync } from 'node:fs';
import { formatConfigTable } from '../packages/controller/src/config/variables.js';

const file = new URL('../docs/configuration.md', import.meta.url);
const text = readFileSync(file, 'utf8');
const start = '<!-- config-table:start -->';
const end = '<!-- config-table:end -->';
const a = text.indexOf(start);
const b = text.indexOf(end);
if (a < 0 || b < a) throw new Error('docs/configuration.md has no config-table markers');
writeFileSync(file, `${text.slice(0, a + start.length)}\n${formatConfigTable()}\n${text.slice(b)}`);
