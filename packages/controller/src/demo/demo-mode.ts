/**
 * Which upstream mode the demo runs in. `dynamic` (issue 7) needs Debian's NDK and Lua modules for
 * NGINX and lua-resty-core (the Lua module refuses to start without it since 0.10.16); when any is
 * missing the demo falls back to `reload` and says why, unless `--mode dynamic` forces it.
 */
import { existsSync } from 'node:fs';
import { EcsIngressError } from '@ecs-ingress/types';
import type { UpstreamMode } from '../dynamic/runtime-dynamic.js';

/** Where Debian puts the pieces (packages in parentheses, for the message). */
export const DYNAMIC_MODE_REQUIREMENTS: readonly { readonly path: string; readonly pkg: string }[] = [
  { path: '/usr/lib/nginx/modules/ndk_http_module.so', pkg: 'libnginx-mod-http-ndk' },
  { path: '/usr/lib/nginx/modules/ngx_http_lua_module.so', pkg: 'libnginx-mod-http-lua' },
  { path: '/usr/share/lua/5.1/resty/core.lua', pkg: 'lua-resty-core' },
];

/** `--mode`: a mode, or `auto` (dynamic when its modules are installed). */
export type DemoModeChoice = UpstreamMode | 'auto';

export interface DemoModeDecision {
  readonly mode: UpstreamMode;
  /** One line for the demo's output: the mode and why. */
  readonly reason: string;
}

export class DynamicModeUnavailableError extends EcsIngressError {
  constructor(readonly missing: readonly string[]) {
    super(
      'ECS_INGRESS_DYNAMIC_MODE_UNAVAILABLE',
      `--mode dynamic needs ${missing.join(', ')} (apt-get install libnginx-mod-http-ndk libnginx-mod-http-lua lua-resty-core), or use --mode reload`,
    );
  }
}

/**
 * Decides the mode. `exists` is injectable for tests.
 * @throws DynamicModeUnavailableError when `dynamic` is forced and a requirement is missing
 */
export function decideDemoMode(
  choice: DemoModeChoice,
  exists: (path: string) => boolean = existsSync,
): DemoModeDecision {
  const missing = DYNAMIC_MODE_REQUIREMENTS.filter((r) => !exists(r.path)).map((r) => `${r.path} (${r.pkg})`);
  if (choice === 'reload') return { mode: 'reload', reason: 'chosen with --mode reload' };
  if (missing.length === 0) {
    return {
      mode: 'dynamic',
      reason: choice === 'dynamic' ? 'chosen with --mode dynamic' : 'the NGINX Lua modules are installed',
    };
  }
  if (choice === 'dynamic') throw new DynamicModeUnavailableError(missing);
  return { mode: 'reload', reason: `dynamic mode needs ${missing.join(', ')}` };
}
