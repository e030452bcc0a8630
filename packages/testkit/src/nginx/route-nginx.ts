/**
 * Real NGINX for the generated route files: a temporary prefix with the upstreams file (rendered
 * by the real `renderUpstreams`), the http and stream route files, and a self-signed certificate
 * copied to `<bundle>/tls/<name>.crt|.key` for every `tls=bundle:<name>` in the table. `test()`
 * runs `nginx -t`; `start()` runs NGINX in the foreground on loopback until `stop()`.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderHttpRoutes, renderStreamRoutes, renderUpstreams } from '@ecs-ingress/renderer';
import type { Endpoint, RouteTable } from '@ecs-ingress/types';
import { NGINX_BINARY, nginxTestConf } from './nginx-conf.js';
import { nginxTest } from './temp-prefix.js';

export const routeNginxAvailable = existsSync(NGINX_BINARY) && existsSync('/usr/bin/openssl');

export interface RouteNginxOptions {
  readonly httpListen?: readonly string[];
  readonly httpsListen?: readonly string[];
  /** Render the default servers (see `RouteRenderOptions.defaultServer`). */
  readonly defaultServer?: boolean;
  /** Leave the certificates out (to see `nginx -t` fail). */
  readonly skipCertificates?: boolean;
  /** Servers per upstream name; names without an entry get one unreachable server. */
  readonly servers?: ReadonlyMap<string, readonly Endpoint[]>;
}

export interface RouteNginxFiles {
  readonly http: string;
  readonly stream: string;
}

export interface RouteNginx {
  readonly dir: string;
  /** Renders `table`, writes every file and runs `nginx -t` (bounded by a timeout). */
  test(table: RouteTable, options?: RouteNginxOptions): RouteNginxFiles & { ok: boolean; output: string };
  /** Renders `table` and starts NGINX in the foreground; resolves once `nginx -t` passed and it runs. */
  start(table: RouteTable, options?: RouteNginxOptions): RouteNginxFiles & { stop(): Promise<void> };
  dispose(): void;
}

function selfSignedCertificate(dir: string): { cert: string; key: string } {
  const cert = join(dir, 'self.crt');
  const key = join(dir, 'self.key');
  const args = ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  args.push('-days', '2', '-subj', '/CN=routes.example', '-keyout', key, '-out', cert);
  const made = spawnSync('/usr/bin/openssl', args, { encoding: 'utf8', timeout: 15_000 });
  if (made.status !== 0) throw new Error(`openssl failed: ${made.stderr}`);
  return { cert, key };
}

export function routeNginx(): RouteNginx {
  const dir = mkdtempSync(join(tmpdir(), 'ecs-ingress-routes-'));
  mkdirSync(join(dir, 'temp'));
  mkdirSync(join(dir, 'bundle', 'tls'), { recursive: true });
  const { cert, key } = selfSignedCertificate(dir);

  function write(table: RouteTable, options: RouteNginxOptions): RouteNginxFiles & { conf: string } {
    const names = new Set<string>();
    for (const host of table.hosts) {
      if (host.tls.kind === 'bundle' && options.skipCertificates !== true) {
        copyFileSync(cert, join(dir, 'bundle', 'tls', `${host.tls.name}.crt`));
        copyFileSync(key, join(dir, 'bundle', 'tls', `${host.tls.name}.key`));
      }
      for (const location of host.locations) {
        names.add(location.upstream);
        if (location.canary) names.add(location.canary.upstream);
      }
    }
    for (const route of table.tcp) names.add(route.upstream);
    const upstreams = renderUpstreams(
      [...names].map((name) => ({
        name,
        servers: options.servers?.get(name) ?? [{ address: '127.0.0.1', port: 9, taskArn: name }],
      })),
    );
    const http = renderHttpRoutes(table, {
      bundleDir: join(dir, 'bundle'),
      httpListen: options.httpListen ?? ['127.0.0.1:18080'],
      httpsListen: options.httpsListen ?? ['127.0.0.1:18443'],
      defaultServer: options.defaultServer ?? false,
    }).text;
    const stream = renderStreamRoutes(table).text;
    writeFileSync(join(dir, 'upstreams.conf'), upstreams.text);
    writeFileSync(join(dir, 'routes-http.conf'), http);
    writeFileSync(join(dir, 'routes-stream.conf'), stream);
    const conf = join(dir, 'nginx.conf');
    writeFileSync(
      conf,
      nginxTestConf({
        modules: ['stream'],
        pid: `${dir}/nginx.pid`,
        errorLog: `${dir}/error.log notice`,
        tempDir: `${dir}/temp`,
        httpIncludes: [`${dir}/upstreams.conf`, `${dir}/routes-http.conf`],
        streamIncludes: [`${dir}/upstreams.conf`, `${dir}/routes-stream.conf`],
      }),
    );
    return { http, stream, conf };
  }

  return {
    dir,
    test(table, options = {}) {
      const files = write(table, options);
      return { ...nginxTest(dir, files.conf, 60_000), http: files.http, stream: files.stream };
    },
    start(table, options = {}) {
      const files = write(table, options);
      const checked = nginxTest(dir, files.conf, 60_000);
      if (!checked.ok) throw new Error(`nginx -t failed:\n${checked.output}`);
      const child: ChildProcess = spawn(
        NGINX_BINARY,
        ['-p', `${dir}/`, '-c', files.conf, '-e', join(dir, 'error.log'), '-g', 'daemon off;'],
        { stdio: 'ignore' },
      );
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      return {
        http: files.http,
        stream: files.stream,
        async stop() {
          if (child.exitCode === null) child.kill('SIGQUIT');
          const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
          await exited;
          clearTimeout(timer);
        },
      };
    },
    dispose() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
