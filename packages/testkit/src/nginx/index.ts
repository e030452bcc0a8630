// Real NGINX for tests: the one test config template (`nginxTestConf`), throw-away prefixes, the
// route files and the dynamic (Lua) mode on loopback, and a fake `NginxExec` for the runner's
// unit tests.

export type { DynamicNginx } from './dynamic-nginx.js';
export { luaInitLine, startDynamicNginx } from './dynamic-nginx.js';
export type { HupBehaviour, SpawnBehaviour } from './fake-nginx-exec.js';
export { FakeNginxExec } from './fake-nginx-exec.js';
export type { NginxConfOptions, NginxModule } from './nginx-conf.js';
export {
  HAS_LUA_MODULES,
  hasNginx,
  MODULES_DIR,
  NGINX_BINARY,
  nginxTestConf,
  returnServer,
  STREAM_MODULE,
} from './nginx-conf.js';
export type { NginxPrefix } from './nginx-prefix.js';
export { mainConfig, makePrefix } from './nginx-prefix.js';
export type { RouteNginx, RouteNginxFiles, RouteNginxOptions } from './route-nginx.js';
export { routeNginx, routeNginxAvailable } from './route-nginx.js';
export type { TempPrefix } from './temp-prefix.js';
export { nginxTest, tempPrefix } from './temp-prefix.js';
