/**
 * The demo's nginx.conf: what a user's config looks like with ecs-ingress. It has no route of its
 * own: the services publish theirs through docker labels, and the config includes the two route
 * files ecs-ingress writes (http: `/web`, `/api` on 127.0.0.1 and localhost; stream: raw TCP to
 * `api`). Everything NGINX writes stays inside the prefix; it never reads /etc/nginx.
 *
 * - reload mode: the upstreams file is included in `http` AND in `stream` (the ancestor's
 *   contract: the file is valid in both);
 * - dynamic mode: NDK then Lua are loaded, `http` includes the preamble then the Lua-balanced
 *   upstreams, and `stream` includes the stream upstreams file, which holds `api` only (the demo
 *   runs with stream services `api`, like ECS_INGRESS_STREAM_SERVICES=api).
 */

export interface DemoNginxConfOptions {
  /** Absolute path of the upstreams file. */
  readonly upstreamsFile: string;
  /** Absolute paths of the route files (routes from labels): included in `http` and `stream`. */
  readonly routesHttpFile: string;
  readonly routesStreamFile: string;
  /** Default /usr/lib/nginx/modules/ngx_stream_module.so (Debian's dynamic module). */
  readonly streamModule?: string;
  /** Dynamic upstream mode's files; `upstreamsFile` is then the http upstreams file. */
  readonly dynamic?: {
    readonly preambleFile: string;
    readonly streamUpstreamsFile: string;
    /** Default /usr/lib/nginx/modules. */
    readonly modulesDir?: string;
  };
}

export function demoNginxConf(options: DemoNginxConfOptions): string {
  const streamModule = options.streamModule ?? '/usr/lib/nginx/modules/ngx_stream_module.so';
  const dynamic = options.dynamic;
  const modules = dynamic?.modulesDir ?? '/usr/lib/nginx/modules';
  // The NDK must be loaded before the Lua module, which needs it.
  const luaModules =
    dynamic === undefined
      ? ''
      : `load_module ${modules}/ndk_http_module.so;\nload_module ${modules}/ngx_http_lua_module.so;\n`;
  const httpIncludes =
    dynamic === undefined
      ? `include ${options.upstreamsFile};`
      : `include ${dynamic.preambleFile};\n  include ${options.upstreamsFile};`;
  const streamInclude = dynamic?.streamUpstreamsFile ?? options.upstreamsFile;
  return `# ecs-ingress demo (${dynamic === undefined ? 'reload' : 'dynamic'} upstream mode): generated; the included upstream files are rewritten by ecs-ingress.
load_module ${streamModule};
${luaModules}worker_processes 1;
pid nginx.pid;
error_log stderr notice;
# Old workers of a reload close idle keep-alive connections at once, and are cut off after this
# long, so a reload storm cannot pile up generations.
worker_shutdown_timeout 5s;

events { worker_connections 1024; }

http {
  access_log off;
  client_body_temp_path tmp/body;
  proxy_temp_path tmp/proxy;
  fastcgi_temp_path tmp/fastcgi;
  uwsgi_temp_path tmp/uwsgi;
  scgi_temp_path tmp/scgi;
  proxy_connect_timeout 2s;

  add_header X-Upstream-Addr $upstream_addr always;

  ${httpIncludes}
  # The routes of the services' labels (ecs-ingress.http.*): their servers and locations.
  include ${options.routesHttpFile};
}

stream {
  proxy_connect_timeout 2s;
  include ${streamInclude};
  # The tcp routes of the services' labels (ecs-ingress.tcp.*).
  include ${options.routesStreamFile};
}
`;
}
