export { isValidIpv4, isValidPort } from './addresses.js';
export type { UpstreamDiff, UpstreamServerChange } from './diff-upstreams.js';
export { describeUpstreamDiff, diffUpstreams } from './diff-upstreams.js';
export type { DynamicHttpPreambleOptions } from './dynamic.js';
export {
  BALANCER_LUA_MODULE,
  CONTROL_LOCATION,
  CONTROL_LUA_MODULE,
  checkControlListen,
  DEFAULT_DYNAMIC_KEEPALIVE,
  DYNAMIC_PLACEHOLDER_SERVER,
  ENDPOINTS_SHARED_DICT,
  renderDynamicHttpPreamble,
  renderDynamicHttpUpstreams,
} from './dynamic.js';
export { RenderOptionError } from './errors.js';
export type { HashLabel, RenderResult } from './hash.js';
export { readRenderedHash } from './hash.js';
export { isSafeUpstreamName } from './names.js';
export type { NormalizedUpstream, NormalizedUpstreams, ServerList, SkippedItem } from './normalize.js';
export { normalizeUpstreams, serverList } from './normalize.js';
export { DOWN_PLACEHOLDER_SERVER, renderUpstreams } from './render-upstreams.js';
export type { Directive } from './routes/conf-tree.js';
export { auditDirectives, isSafeArgument, RouteRenderUnsafeError } from './routes/conf-tree.js';
export type { RouteRenderOptions, RoutesRenderResult } from './routes/render-routes.js';
export { renderHttpRoutes, renderStreamRoutes } from './routes/render-routes.js';
export { routeUpstreamName } from './routes/upstream-name.js';
export type { UpstreamsRenderer } from './upstreams-renderer.js';
export { createUpstreamsRenderer, sameUpstreamNames } from './upstreams-renderer.js';
