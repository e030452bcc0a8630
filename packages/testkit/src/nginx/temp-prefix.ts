/**
 * A synchronous throw-away NGINX prefix for `nginx -t` tests of rendered files: files written into
 * it, a main config whose pid, error log and temp paths stay inside it, and a bounded `nginx -t`.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NGINX_BINARY, type NginxConfOptions, nginxTestConf } from './nginx-conf.js';

/** A throw-away NGINX prefix under the OS temp dir, removed by `dispose()`. */
export interface TempPrefix {
  readonly dir: string;
  /** Writes `text` to `<dir>/<name>` (creating directories) and returns the path. */
  write(name: string, text: string): string;
  /** `nginxTestConf(options)` with the pid, error log and temp paths inside this prefix. */
  conf(options: NginxConfOptions): string;
  dispose(): void;
}

export function tempPrefix(label: string): TempPrefix {
  const dir = mkdtempSync(join(tmpdir(), `ecs-ingress-${label}-`));
  mkdirSync(join(dir, 'temp'));
  return {
    dir,
    write(name, text) {
      const path = join(dir, name);
      mkdirSync(join(path, '..'), { recursive: true });
      writeFileSync(path, text);
      return path;
    },
    conf: (options) =>
      nginxTestConf({
        pid: `${dir}/nginx.pid`,
        errorLog: `${dir}/error.log notice`,
        tempDir: `${dir}/temp`,
        ...options,
      }),
    dispose() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Runs `nginx -t` on `confPath`; bounded by a timeout so a hung NGINX cannot stall the suite. */
export function nginxTest(
  dir: string,
  confPath: string,
  timeoutMs = 15_000,
): { ok: boolean; output: string } {
  const result = spawnSync(NGINX_BINARY, ['-t', '-p', `${dir}/`, '-c', confPath, '-e', `${dir}/error.log`], {
    encoding: 'utf8',
    timeout: timeoutMs,
  });
  return { ok: result.status === 0, output: `${result.stdout ?? ''}${result.stderr ?? ''}` };
}
