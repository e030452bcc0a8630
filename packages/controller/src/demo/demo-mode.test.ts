import { describe, expect, it } from 'vitest';
import { type DemoModeChoice, DYNAMIC_MODE_REQUIREMENTS, decideDemoMode } from './demo-mode.js';

const all = () => true;
const none = () => false;
const noRestyCore = (path: string) => !path.endsWith('resty/core.lua');

describe('decideDemoMode', () => {
  it.each<[DemoModeChoice, (path: string) => boolean, string, RegExp]>([
    ['auto', all, 'dynamic', /Lua modules are installed/],
    ['auto', none, 'reload', /ngx_http_lua_module\.so \(libnginx-mod-http-lua\)/],
    ['auto', noRestyCore, 'reload', /lua-resty-core/],
    ['reload', all, 'reload', /--mode reload/],
    ['reload', none, 'reload', /--mode reload/],
    ['dynamic', all, 'dynamic', /--mode dynamic/],
  ])('%s with modules %o → %s', (choice, exists, mode, reason) => {
    const decision = decideDemoMode(choice, exists);
    expect(decision.mode).toBe(mode);
    expect(decision.reason).toMatch(reason);
  });

  it('refuses a forced dynamic mode, naming what is missing', () => {
    expect(() => decideDemoMode('dynamic', noRestyCore)).toThrow(/lua-resty-core/);
    expect(() => decideDemoMode('dynamic', none)).toThrow(
      expect.objectContaining({ code: 'ECS_INGRESS_DYNAMIC_MODE_UNAVAILABLE' }),
    );
  });

  it('checks NDK, the Lua module and lua-resty-core', () => {
    expect(DYNAMIC_MODE_REQUIREMENTS.map((r) => r.pkg)).toEqual([
      'libnginx-mod-http-ndk',
      'libnginx-mod-http-lua',
      'lua-resty-core',
    ]);
  });
});
