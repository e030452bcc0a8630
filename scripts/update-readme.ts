// Regenerates the README's configuration table from CONFIG_VARIABLES (the single source of truth).
// Run: node --conditions=source --import tsx scripts/update-readme.ts
import { readFileSync, writeFileSync } from 'node:fs';
import { formatConfigTable } from '../packages/controller/src/config/variables.js';

const file = new URL('../README.md', import.meta.url);
const text = readFileSync(file, 'utf8');
const start = '<!-- config-table:start -->';
const end = '<!-- config-table:end -->';
const a = text.indexOf(start);
const b = text.indexOf(end);
if (a < 0 || b < a) throw new Error('README.md has no config-table markers');
writeFileSync(file, `${text.slice(0, a + start.length)}\n${formatConfigTable()}\n${text.slice(b)}`);
