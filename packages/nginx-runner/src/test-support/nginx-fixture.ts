/**
 * Helpers for the integration tests: a throw-away NGINX prefix on loopback, free ports, and plain
 * HTTP requests through it. Nothing here touches /etc/nginx or a fixed port.
 */
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const NGINX_BINARY = '/usr/sbin/nginx';
export const hasNginx = existsSync(NGINX_BINARY);

/** A port that was free a moment ago: bind port 0 on loopback, read it, close. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** Holds a loopback port open (so NGINX's bind() of it fails). */
export async function holdPort(): Promise<{ port: number; server: Server }> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return { port: address.port, server };
}

export interface NginxPrefix {
  dir: string;
  configFile: string;
  /** Writes the main config from the `http {}` body. */
  writeConfig(httpBody: string, mainExtra?: string): Promise<void>;
  cleanup(): Promise<void>;
}

/** The main config: everything NGINX writes stays inside the prefix; logs go to stderr. */
export function mainConfig(httpBody: string, mainExtra = ''): string {
  return `worker_processes 1;
pid nginx.pid;
error_log stderr notice;
${mainExtra}
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path tmp/body;
  proxy_temp_path tmp/proxy;
  fastcgi_temp_path tmp/fastcgi;
  uwsgi_temp_path tmp/uwsgi;
  scgi_temp_path tmp/scgi;
${httpBody}
}
`;
}

export function returnServer(port: number, body: string, extraListen = ''): string {
  return `  server {
    listen 127.0.0.1:${port};
${extraListen}
    location / { return 200 "${body}"; }
  }`;
}

export async function makePrefix(): Promise<NginxPrefix> {
  const dir = await mkdtemp(join(tmpdir(), 'ecs-ingress-nginx-'));
  // Workers drop root privileges (to `nobody`) when the tests run as root; let them traverse.
  await chmod(dir, 0o755);
  await mkdir(join(dir, 'tmp'), { recursive: true });
  const configFile = join(dir, 'nginx.conf');
  return {
    dir,
    configFile,
    writeConfig: (httpBody, mainExtra) => writeFile(configFile, mainConfig(httpBody, mainExtra)),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

/** GET through NGINX; resolves with status and body. */
export function get(port: number, path = '/', timeoutMs = 5_000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end();
  });
}

/** Whether `pid` is a live process (a zombie awaiting its reaper does not count). */
export function pidAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Polls `check` until it returns true or `attempts` × `intervalMs` elapse. */
export async function eventually(check: () => boolean | Promise<boolean>, attempts = 250, intervalMs = 20) {
  for (let i = 0; i < attempts; i += 1) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  return false;
}
