import { readFileSync } from 'node:fs';

/**
 * The controller package's version, for `--version`. Read from its package.json, which sits two
 * levels above this file both in `src/cli` (tsx) and in `dist/cli` (the built CLI, the image).
 */
export function cliVersion(): string {
  const text = readFileSync(new URL('../../package.json', import.meta.url), 'utf8');
  const version = (JSON.parse(text) as { version?: unknown }).version;
  return typeof version === 'string' ? version : '0.0.0';
}
