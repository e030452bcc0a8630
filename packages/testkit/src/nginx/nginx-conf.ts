/**
 * The one NGINX main config the tests write: every file NGINX creates (pid, temp paths) stays
 * inside the prefix, so tests run side by side and never touch /etc/nginx or /var/lib/nginx.
 * Callers give only what their test is about: modules, main-context lines, the `http {}` and
 * `stream {}` bodies.
 */

import { existsSync } from 'node:fs';

export const NGINX_BINARY = '/usr/sbin/nginx';
export const MODULES_DIR = '/usr/lib/nginx/modules';
export const STREAM_MODULE = `${MODULES_DIR}/ngx_stream_module.so`;

/** Debian's NGINX with its stream module: what the NGINX tests need (they skip, saying so, without). */
export const hasNginx = existsSync(NGINX_BINARY) && existsSync(STREAM_MODULE);

/** What dynamic upstream mode needs on this machine (Debian's NDK + Lua modules, lua-resty-core). */
export const HAS_LUA_MODULES = [
  `${MODULES_DIR}/ndk_http_module.so`,
  `${MODULES_DIR}/ngx_http_lua_module.so`,
  '/usr/share/lua/5.1/resty/core.lua',
].every((path) => existsSync(path));

/** Dynamic modules of Debian's NGINX; `lua` loads the NDK first, which the Lua module needs. */
export type NginxModule = 'stream' | 'lua';

const MODULE_FILES: Readonly<Record<NginxModule, readonly string[]>> = {
  stream: ['ngx_stream_module.so'],
  lua: ['ndk_http_module.so', 'ngx_http_lua_module.so'],
};

const TEMP_KINDS = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'] as const;

export interface NginxConfOptions {
  /** `load_module` lines, in this order. */
  readonly modules?: readonly NginxModule[];
  /** Default 1. */
  readonly workers?: number;
  /** Default 256. */
  readonly workerConnections?: number;
  /** Default `nginx.pid` (relative to the prefix NGINX runs with). */
  readonly pid?: string;
  /** The `error_log` arguments; default `stderr notice`. */
  readonly errorLog?: string;
  /**
   * Directory of the `*_temp_path`s (`<tempDir>/<kind>`; NGINX creates the last level, the caller
   * the directory itself). Default: `<kind>_temp` directly in the prefix.
   */
  readonly tempDir?: string;
  /** Extra main-context lines (`daemon off;`, `worker_shutdown_timeout 2s;`). */
  readonly main?: readonly string[];
  /** Files included at the top of `http {}` (upstreams, preamble, routes). */
  readonly httpIncludes?: readonly string[];
  /** The rest of the `http {}` body (servers, user directives); `http {}` is always written. */
  readonly http?: string | readonly string[];
  /** Files included at the top of `stream {}`; with `stream` unset and no includes, no `stream {}`. */
  readonly streamIncludes?: readonly string[];
  readonly stream?: string | readonly string[];
}

const lines = (body: string | readonly string[] | undefined): string[] =>
  body === undefined ? [] : typeof body === 'string' ? [body] : [...body];

/** The text of a test's nginx.conf. */
export function nginxTestConf(options: NginxConfOptions = {}): string {
  const temp = (kind: string) =>
    options.tempDir === undefined ? `${kind}_temp` : `${options.tempDir}/${kind}`;
  const out = [
    ...(options.modules ?? []).flatMap((m) => MODULE_FILES[m].map((f) => `load_module ${MODULES_DIR}/${f};`)),
    `worker_processes ${options.workers ?? 1};`,
    `pid ${options.pid ?? 'nginx.pid'};`,
    `error_log ${options.errorLog ?? 'stderr notice'};`,
    ...(options.main ?? []),
    `events { worker_connections ${options.workerConnections ?? 256}; }`,
    'http {',
    '  access_log off;',
    ...TEMP_KINDS.map((kind) => `  ${kind}_temp_path ${temp(kind)};`),
    ...(options.httpIncludes ?? []).map((file) => `  include ${file};`),
    ...lines(options.http),
    '}',
  ];
  if (options.stream !== undefined || (options.streamIncludes ?? []).length > 0) {
    out.push(
      'stream {',
      ...(options.streamIncludes ?? []).map((file) => `  include ${file};`),
      ...lines(options.stream),
      '}',
    );
  }
  return `${out.join('\n')}\n`;
}

/** `server { listen 127.0.0.1:<port>; … }` answering `body` with 200 to every request. */
export function returnServer(port: number, body: string, extraListen = ''): string {
  return `  server {
    listen 127.0.0.1:${port};
${extraListen}
    location / { return 200 "${body}"; }
  }`;
}
