/**
 * The command line the runner gives NGINX, and the checks on the main config file that make the
 * command line valid.
 *
 * - `-e stderr` (NGINX ≥ 1.19.5): the log used before the config is read goes to stderr, so a
 *   startup failure is visible to us and NGINX never opens its compiled-in log path.
 * - `-g 'daemon off;'` keeps NGINX in the foreground as our child. A config that already says
 *   `daemon off;` makes NGINX fail with `"daemon" directive is duplicate`, so we omit `-g` then.
 *   `daemon on;` cannot be supervised (the master would fork away from us) and is refused, as is
 *   `master_process off;` (no workers, so a reload cannot be confirmed).
 * Only the main config file is inspected: both directives are valid only in the main context,
 * which an `include` can also supply; that case is not detected (documented limit).
 */
import { readFile } from 'node:fs/promises';
import { NginxConfigUnsupportedError } from './errors.js';

/** The config text without `#` comments (a `#` inside a quoted string is rare enough in the main context). */
function stripComments(text: string): string {
  return text.replace(/#[^\n]*/g, '');
}

function directiveValue(text: string, name: string): string | undefined {
  const match = new RegExp(`(?:^|[;{}\\s])${name}\\s+(\\S+?)\\s*;`).exec(stripComments(text));
  return match?.[1];
}

export interface MainConfigFacts {
  /** The config already sets `daemon off;`. */
  daemonOff: boolean;
}

/** Throws `NginxConfigUnsupportedError` for directives the runner cannot supervise. */
export function inspectMainConfig(text: string): MainConfigFacts {
  const daemon = directiveValue(text, 'daemon');
  if (daemon !== undefined && daemon !== 'off') {
    throw new NginxConfigUnsupportedError(
      `"daemon ${daemon};" cannot be supervised; remove it or use "daemon off;"`,
    );
  }
  const masterProcess = directiveValue(text, 'master_process');
  if (masterProcess !== undefined && masterProcess !== 'on') {
    throw new NginxConfigUnsupportedError(
      `"master_process ${masterProcess};" leaves no workers to confirm a reload with; remove it`,
    );
  }
  return { daemonOff: daemon === 'off' };
}

/** Arguments shared by the server and `nginx -t`, so the test checks what will actually run. */
export function nginxArgs(prefix: string, configFile: string, facts: MainConfigFacts): string[] {
  const args = ['-e', 'stderr', '-p', prefix, '-c', configFile];
  if (!facts.daemonOff) args.push('-g', 'daemon off;');
  return args;
}

/**
 * Reads the main config and builds the arguments. A missing file is left for NGINX to report (its
 * `[emerg] open() ... failed` is the diagnostic users know), so it gets the default arguments.
 */
export async function nginxArgsFor(prefix: string, configFile: string): Promise<string[]> {
  let text = '';
  try {
    text = await readFile(configFile, 'utf8');
  } catch (error) {
    const code = typeof error === 'object' && error !== null && 'code' in error ? error.code : undefined;
    if (code !== 'ENOENT') throw error;
  }
  return nginxArgs(prefix, configFile, inspectMainConfig(text));
}
