/**
 * `nginx -t` for the generated route files: a temporary prefix with the upstreams file (rendered
 * by the real `renderUpstreams`), the http and stream route files, and a self-signed certificate
 * copied to `<bundle>/tls/<name>.crt|.key` for every `tls=bundle:<name>` in the table.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderHttpRoutes, renderStreamRoutes, renderUpstreams } from '@ecs-ingress/renderer';
import type { RouteTable } from '@ecs-ingress/types';

const NGINX = '/usr/sbin/nginx';
const MODULES = '/usr/lib/nginx/modules';
export const routeNginxAvailable = existsSync(NGINX) && existsSync('/usr/bin/openssl');

export interface RouteNginx {
  readonly dir: string;
  /** Renders `table`, writes every file and runs `nginx -t` (bounded by a timeout). */
  test(
    table: RouteTable,
    options?: { httpListen?: readonly string[]; httpsListen?: readonly string[]; skipCertificates?: boolean },
  ): {
    ok: boolean;
    output: string;
    http: string;
    stream: string;
  };
  dispose(): void;
}

export function routeNginx(): RouteNginx {
  const dir = mkdtempSync(join(tmpdir(), 'ecs-ingress-routes-'));
  mkdirSync(join(dir, 'temp'));
  mkdirSync(join(dir, 'bundle', 'tls'), { recursive: true });
  const cert = join(dir, 'self.crt');
  const key = join(dir, 'self.key');
  const gen = spawnSync(
    '/usr/bin/openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/CN=routes.example',
      '-keyout',
      key,
      '-out',
      cert,
    ],
    { encoding: 'utf8', timeout: 15_000 },
  );
  if (gen.status !== 0) throw new Error(`openssl failed: ${gen.stderr}`);
  return {
    dir,
    test(table, options = {}) {
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
        [...names].map((name, i) => ({
          name,
          servers: [{ address: '127.0.0.1', port: 1024 + (i % 60_000), taskArn: name }],
        })),
      );
      const http = renderHttpRoutes(table, {
        bundleDir: join(dir, 'bundle'),
        httpListen: options.httpListen ?? ['127.0.0.1:18080'],
        httpsListen: options.httpsListen ?? ['127.0.0.1:18443'],
      }).text;
      const stream = renderStreamRoutes(table).text;
      writeFileSync(join(dir, 'upstreams.conf'), upstreams.text);
      writeFileSync(join(dir, 'routes-http.conf'), http);
      writeFileSync(join(dir, 'routes-stream.conf'), stream);
      const conf = [
        `load_module ${MODULES}/ngx_stream_module.so;`,
        `pid ${dir}/nginx.pid;`,
        `error_log ${dir}/error.log notice;`,
        'events { worker_connections 64; }',
        'http {',
        ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map(
          (k) => `  ${k}_temp_path ${dir}/temp/${k};`,
        ),
        '  access_log off;',
        `  include ${dir}/upstreams.conf;`,
        `  include ${dir}/routes-http.conf;`,
        '}',
        'stream {',
        `  include ${dir}/upstreams.conf;`,
        `  include ${dir}/routes-stream.conf;`,
        '}',
        '',
      ].join('\n');
      writeFileSync(join(dir, 'nginx.conf'), conf);
      const result = spawnSync(
        NGINX,
        ['-t', '-p', `${dir}/`, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')],
        {
          encoding: 'utf8',
          timeout: 60_000,
        },
      );
      return {
        ok: result.status === 0,
        output: `${result.stdout ?? ''}${result.stderr ?? ''}`,
        http,
        stream,
      };
    },
    dispose() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
