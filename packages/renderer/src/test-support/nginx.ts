import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const NGINX_BIN = '/usr/sbin/nginx';
export const MODULES_DIR = '/usr/lib/nginx/modules';
export const nginxAvailable = existsSync(NGINX_BIN);

/** A throw-away NGINX prefix under the OS temp dir, removed by `dispose()`. */
export interface TempPrefix {
  readonly dir: string;
  write(name: string, text: string): string;
  dispose(): void;
}

export function tempPrefix(label: string): TempPrefix {
  const dir = mkdtempSync(join(tmpdir(), `ecs-ingress-renderer-${label}-`));
  mkdirSync(join(dir, 'temp'));
  return {
    dir,
    write(name, text) {
      const path = join(dir, name);
      mkdirSync(join(path, '..'), { recursive: true });
      writeFileSync(path, text);
      return path;
    },
    dispose() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Main-context lines that keep every file NGINX writes inside the prefix (pid, error log) — never
 * /etc/nginx or /var/lib/nginx, so tests run side by side.
 */
export function mainContext(dir: string): string {
  return [
    `pid ${dir}/nginx.pid;`,
    `error_log ${dir}/error.log notice;`,
    'events { worker_connections 64; }',
  ].join('\n');
}

/** http-context temp paths inside the prefix (NGINX creates them at start, also under -t). */
export function httpTempPaths(dir: string): string {
  return ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
    .map((kind) => `${kind}_temp_path ${dir}/temp/${kind};`)
    .join('\n');
}

/** Runs `nginx -t` on `confPath`; bounded by a timeout so a hung NGINX cannot stall the suite. */
export function nginxTest(dir: string, confPath: string): { ok: boolean; output: string } {
  const result = spawnSync(NGINX_BIN, ['-t', '-p', `${dir}/`, '-c', confPath, '-e', `${dir}/error.log`], {
    encoding: 'utf8',
    timeout: 15_000,
  });
  return { ok: result.status === 0, output: `${result.stdout ?? ''}${result.stderr ?? ''}` };
}

/** A free TCP port on 127.0.0.1 (bound to port 0, read, released). */
export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === 'object') resolve(address.port);
        else reject(new Error('no port'));
      });
    });
  });
}
