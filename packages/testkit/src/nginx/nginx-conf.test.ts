import { afterAll, describe, expect, it } from 'vitest';
import { HAS_LUA_MODULES, hasNginx, nginxTestConf } from './nginx-conf.js';
import { nginxTest, type TempPrefix, tempPrefix } from './temp-prefix.js';

const prefixes: TempPrefix[] = [];
afterAll(() => {
  for (const prefix of prefixes) prefix.dispose();
});

/** `nginx -t` of `conf` in a fresh prefix (relative paths resolve against it, as `-p` makes them). */
function check(conf: string, files: Record<string, string> = {}): { ok: boolean; output: string } {
  const prefix = tempPrefix('testkit-conf');
  prefixes.push(prefix);
  for (const [name, text] of Object.entries(files)) prefix.write(name, text);
  return nginxTest(prefix.dir, prefix.write('nginx.conf', conf));
}

describe('nginxTestConf', () => {
  it('writes only http {} by default, with the temp paths in the prefix', () => {
    const text = nginxTestConf();
    expect(text).toContain('worker_processes 1;\npid nginx.pid;\nerror_log stderr notice;\n');
    expect(text).toContain('  proxy_temp_path proxy_temp;\n');
    expect(text).not.toContain('load_module');
    expect(text).not.toContain('stream {');
  });

  it('loads the NDK before the Lua module, and writes stream {} when asked', () => {
    const text = nginxTestConf({ modules: ['lua', 'stream'], streamIncludes: ['up.conf'], tempDir: 'tmp' });
    const ndk = text.indexOf('ndk_http_module.so');
    expect(ndk).toBeGreaterThanOrEqual(0);
    expect(text.indexOf('ngx_http_lua_module.so')).toBeGreaterThan(ndk);
    expect(text).toContain('  proxy_temp_path tmp/proxy;\n');
    expect(text).toMatch(/\nstream \{\n {2}include up\.conf;\n\}\n$/);
  });

  describe.skipIf(!hasNginx)('with the real nginx -t', () => {
    it('passes with http and stream includes and servers', () => {
      const upstreams = 'upstream web { server 127.0.0.1:9; }\n';
      const result = check(
        nginxTestConf({
          modules: ['stream'],
          main: ['worker_shutdown_timeout 2s;'],
          httpIncludes: ['upstreams.conf'],
          http: '  server { listen 127.0.0.1:18080; location / { proxy_pass http://web; } }',
          streamIncludes: ['upstreams.conf'],
          stream: '  server { listen 127.0.0.1:18081; proxy_pass web; }',
        }),
        { 'upstreams.conf': upstreams },
      );
      expect(result.output).toContain('test is successful');
      expect(result.ok).toBe(true);
    });

    it.skipIf(!HAS_LUA_MODULES)('passes with the Lua module loaded', () => {
      const result = check(nginxTestConf({ modules: ['lua'], http: '  lua_shared_dict probe 1m;' }));
      expect(result.ok, result.output).toBe(true);
    });

    it('fails on a line NGINX does not know, naming it', () => {
      const result = check(nginxTestConf({ http: '  no_such_directive on;' }));
      expect(result.ok).toBe(false);
      expect(result.output).toContain('unknown directive "no_such_directive"');
    });
  });
});
