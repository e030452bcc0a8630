import { existsSync } from 'node:fs';
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderHttpRoutes, renderStreamRoutes } from '@ecs-ingress/renderer';
import { buildTar } from '@ecs-ingress/testkit/archives';
import { HAS_LUA_MODULES, hasNginx, nginxTestConf } from '@ecs-ingress/testkit/nginx';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { renderDynamic } from '../dynamic/dynamic-render.js';
import { dynamicLuaDir } from '../dynamic/lua-path.js';
import { createMetrics, type Metrics } from '../http/metrics.js';
import { BundleManager, type BundleTester } from './bundle-manager.js';
import { BundleRejectedError, NoValidBundleError } from './errors.js';
import { extractBundle } from './extract.js';
import { createNginxTester } from './nginx-tester.js';
import { type BundleCandidate, DEFAULT_DYNAMIC_BUNDLE_DIR, DefaultBundleSource } from './sources.js';
import { resolveStartupBundle } from './startup.js';
import { hashBytes } from './tree.js';

/** A bundle's nginx.conf: everything NGINX writes stays in the prefix; includes the upstreams file. */
export function bundleConf(upstreamsFile: string, serverBody: string, port = 1): string {
  return nginxTestConf({
    workerConnections: 64,
    httpIncludes: [upstreamsFile, 'conf.d/*.conf'],
    http: ['  server {', `    listen 127.0.0.1:${port};`, `    ${serverBody}`, '  }'],
  });
}

/** A tar.gz candidate with `files`, extracted through the real extractor. */
export function tarCandidate(files: Record<string, string>): BundleCandidate {
  const archive = buildTar(Object.entries(files).map(([path, content]) => ({ path, content })));
  const id = hashBytes(archive);
  return {
    id,
    origin: `test:${id}`,
    materialise: async (dir, limits) => void (await extractBundle(archive, dir, limits)),
  };
}

async function counterValue(metrics: Metrics, name: 'bundleApplies', result: string): Promise<number> {
  const data = await metrics[name].get();
  return data.values.find((v) => v.labels.result === result)?.value ?? 0;
}

describe.skipIf(!hasNginx)('BundleManager with the real nginx -t', () => {
  let tmp: string;
  let workDir: string;
  let prefix: string;
  let upstreamsFile: string;
  let metrics: Metrics;
  let testerCalls: number;
  let manager: BundleManager;

  beforeEach(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'ecs-ingress-bundle-'));
    workDir = join(tmp, 'work');
    prefix = join(tmp, 'prefix');
    await mkdir(prefix, { recursive: true });
    upstreamsFile = join(tmp, 'upstreams.conf');
    await writeFile(upstreamsFile, 'upstream web {\n    server 127.0.0.1:80 down;\n}\n');
    metrics = createMetrics({ defaults: false });
    testerCalls = 0;
    const nginxTest = createNginxTester({ prefix });
    const tester: BundleTester = (conf) => {
      testerCalls += 1;
      return nginxTest(conf);
    };
    manager = new BundleManager({ workDir, upstreamsFile, tester, metrics });
  });
  afterEach(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  const good = (text: string) =>
    tarCandidate({
      'nginx.conf': bundleConf(
        'UPSTREAMS',
        `location / { proxy_pass http://web; } location = /v { return 200 "${text}"; }`,
      ),
    });
  // The upstreams path is only known per test: patch it in.
  const withUpstreams = (candidate: BundleCandidate): BundleCandidate => ({
    ...candidate,
    materialise: async (dir, limits) => {
      await candidate.materialise(dir, limits);
      const main = join(dir, 'nginx.conf');
      await writeFile(main, (await readFile(main, 'utf8')).replaceAll('UPSTREAMS', upstreamsFile));
    },
  });

  it('stages a good bundle, activates it atomically, and reverts', async () => {
    const first = await manager.stage(withUpstreams(good('one')));
    expect(first.dir).toBe(join(workDir, 'bundles', first.id));
    expect(existsSync(join(workDir, 'staging', first.id))).toBe(false);
    expect(await manager.current()).toBeUndefined();

    const a1 = await manager.activate(first);
    expect(a1.previous).toBeUndefined();
    expect(await readlink(join(workDir, 'current'))).toBe(join('bundles', first.id));
    expect(await readFile(manager.configFile, 'utf8')).toContain('"one"');
    await a1.confirm();

    const second = await manager.stage(withUpstreams(good('two')));
    const a2 = await manager.activate(second);
    expect(a2.previous?.id).toBe(first.id);
    expect(await readFile(manager.configFile, 'utf8')).toContain('"two"');

    await a2.revert(new Error('reload timed out'));
    expect((await manager.current())?.id).toBe(first.id);
    expect(await readFile(manager.configFile, 'utf8')).toContain('"one"');
    // The reverted bundle is kept for inspection and not retried.
    expect(existsSync(join(workDir, 'rejected', `${second.id}-reload-failed`, 'nginx.conf'))).toBe(true);
    expect(manager.rejectionOf(second.id)?.reason).toBe('reload-failed');
    expect(await counterValue(metrics, 'bundleApplies', 'success')).toBe(1);
    expect(await counterValue(metrics, 'bundleApplies', 'failed')).toBe(1);
  });

  it('refuses a bundle that fails nginx -t: current unchanged, tree kept, NGINX message kept, not retried', async () => {
    const first = await manager.stage(withUpstreams(good('one')));
    await (await manager.activate(first)).confirm();

    const bad = withUpstreams(
      tarCandidate({
        'nginx.conf': bundleConf('UPSTREAMS', 'bogus_directive on; location / { return 200; }'),
      }),
    );
    const error = await manager.stage(bad).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BundleRejectedError);
    const rejected = error as BundleRejectedError;
    expect(rejected.reason).toBe('nginx-test-failed');
    expect(rejected.nginxErrors.join('\n')).toContain('unknown directive "bogus_directive"');
    expect(rejected.inspectDir).toBe(join(workDir, 'rejected', `${bad.id}-nginx-test-failed`));
    expect(await readFile(join(rejected.inspectDir ?? '', 'nginx.conf'), 'utf8')).toContain(
      'bogus_directive',
    );
    expect((await manager.current())?.id).toBe(first.id);
    expect((await metrics.configTestFailures.get()).values[0]?.value).toBe(1);

    const calls = testerCalls;
    await expect(manager.stage(bad)).rejects.toBe(rejected);
    expect(testerCalls).toBe(calls);
  });

  it('tests the bundle together with the CURRENT upstreams file', async () => {
    // `proxy_pass http://web` needs the upstream `web` from the upstreams file.
    await writeFile(upstreamsFile, 'upstream other {\n    server 127.0.0.1:80 down;\n}\n');
    const error = (await manager
      .stage(withUpstreams(good('one')))
      .catch((e: unknown) => e)) as BundleRejectedError;
    expect(error.reason).toBe('nginx-test-failed');
    expect(error.nginxErrors.join('\n')).toContain('host not found in upstream "web"');
  });

  it('refuses a malicious archive before nginx -t runs, keeping what was extracted', async () => {
    const archive = buildTar([
      { path: 'nginx.conf', content: 'events {}\n' },
      { path: 'passwd', type: 'SymbolicLink', linkpath: '/etc/passwd' },
    ]);
    const candidate: BundleCandidate = {
      id: hashBytes(archive),
      origin: 'test',
      materialise: async (dir, limits) => void (await extractBundle(archive, dir, limits)),
    };
    const error = (await manager.stage(candidate).catch((e: unknown) => e)) as BundleRejectedError;
    expect(error.reason).toBe('link-outside');
    expect(testerCalls).toBe(0);
    expect(await readdir(join(workDir, 'rejected'))).toEqual([`${candidate.id}-link-outside`]);
  });

  it('keeps only the newest 5 rejected trees', async () => {
    for (let i = 0; i < 7; i++) {
      await manager.stage(tarCandidate({ 'other.conf': `# ${i}\n` })).catch(() => undefined);
    }
    const kept = await readdir(join(workDir, 'rejected'));
    expect(kept).toHaveLength(5);
    expect(kept.every((name) => name.endsWith('-missing-main-file'))).toBe(true);
  });

  it('re-staging the current bundle is a no-op', async () => {
    const candidate = withUpstreams(good('one'));
    await (await manager.activate(await manager.stage(candidate))).confirm();
    const calls = testerCalls;
    const again = await manager.stage(candidate);
    expect(again.id).toBe(candidate.id);
    expect(testerCalls).toBe(calls);
  });

  /** Empty route files as the daemon writes them for the built-in config (default server on). */
  async function routeFiles(): Promise<Record<string, string>> {
    const empty = { hosts: [], tcp: [], reports: [] };
    await writeFile(
      join(tmp, 'routes.http.conf'),
      renderHttpRoutes(empty, { bundleDir: tmp, defaultServer: true }).text,
    );
    await writeFile(join(tmp, 'routes.stream.conf'), renderStreamRoutes(empty).text);
    return {
      '/app/nginx/routes.http.conf': join(tmp, 'routes.http.conf'),
      '/app/nginx/routes.stream.conf': join(tmp, 'routes.stream.conf'),
    };
  }

  it('the built-in default bundle passes nginx -t with the configured upstreams and route files', async () => {
    const source = new DefaultBundleSource({ upstreamsFile, replacements: await routeFiles() });
    const candidate = await source.check();
    expect(candidate).toBeDefined();
    const staged = await manager.stage(candidate as BundleCandidate);
    const main = await readFile(staged.mainFile, 'utf8');
    expect(main).toContain(`include ${upstreamsFile};`);
    expect(main).toContain(`include ${join(tmp, 'routes.http.conf')};`);
    expect(main).not.toContain('/app/nginx/');
    expect(await source.check()).toBeUndefined();
  });

  it.skipIf(!HAS_LUA_MODULES)(
    'the built-in dynamic-mode default bundle passes nginx -t with the configured dynamic files',
    async () => {
      const files = renderDynamic([{ name: 'web', servers: [] }], {
        httpUpstreamsFile: join(tmp, 'upstreams.http.conf'),
        preambleFile: join(tmp, 'dynamic.conf'),
        streamUpstreamsFile: join(tmp, 'upstreams.stream.conf'),
        controlListen: '127.0.0.1:10255',
        luaPackagePath: dynamicLuaDir(),
      }).config.files;
      for (const file of files) await writeFile(file.path, file.content);
      const source = new DefaultBundleSource({
        dir: DEFAULT_DYNAMIC_BUNDLE_DIR,
        upstreamsFile,
        replacements: {
          '/app/nginx/ecs-ingress-dynamic.conf': join(tmp, 'dynamic.conf'),
          '/app/nginx/upstreams.http.conf': join(tmp, 'upstreams.http.conf'),
          ...(await routeFiles()),
        },
      });
      const staged = await manager.stage((await source.check()) as BundleCandidate);
      const main = await readFile(staged.mainFile, 'utf8');
      expect(main).toContain(`include ${join(tmp, 'dynamic.conf')};`);
      expect(main).toContain(`include ${join(tmp, 'upstreams.http.conf')};`);
      expect(main).not.toContain('/app/nginx/');
    },
  );

  describe('start-up', () => {
    const badBundle = () =>
      withUpstreams(tarCandidate({ 'nginx.conf': bundleConf('UPSTREAMS', 'bogus_directive on;') }));

    it('a bad bundle and no last known good: refuses to start, saying what is wrong', async () => {
      const error = await resolveStartupBundle({ manager, fetch: async () => badBundle() }).catch(
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(NoValidBundleError);
      const noValid = error as NoValidBundleError;
      expect(noValid.code).toBe('ECS_INGRESS_NO_VALID_BUNDLE');
      expect(noValid.message).toContain('unknown directive "bogus_directive"');
      expect(noValid.rejection?.reason).toBe('nginx-test-failed');
    });

    it('a bad bundle with a last known good: starts with the last known good and reports the bad one', async () => {
      const lastGood = await manager.stage(withUpstreams(good('one')));
      await (await manager.activate(lastGood)).confirm();
      // A new process: a fresh manager finds `current` on disk.
      const restarted = new BundleManager({ workDir, upstreamsFile, tester: createNginxTester({ prefix }) });
      const result = await resolveStartupBundle({ manager: restarted, fetch: async () => badBundle() });
      expect(result.fresh).toBe(false);
      expect(result.bundle.id).toBe(lastGood.id);
      expect(result.rejected?.reason).toBe('nginx-test-failed');
    });

    it('the bucket unreachable with a last known good: starts with it', async () => {
      const lastGood = await manager.stage(withUpstreams(good('one')));
      await (await manager.activate(lastGood)).confirm();
      const result = await resolveStartupBundle({
        manager,
        fetch: async () => {
          throw new Error('connect ECONNREFUSED');
        },
      });
      expect(result).toMatchObject({ fresh: false, bundle: { id: lastGood.id } });
      expect(result.rejected?.reason).toBe('unreadable');
    });

    it('a good bundle: staged fresh', async () => {
      const result = await resolveStartupBundle({ manager, fetch: async () => withUpstreams(good('one')) });
      expect(result.fresh).toBe(true);
      expect((await lstat(result.bundle.dir)).isDirectory()).toBe(true);
    });

    it('nothing at all: refuses to start', async () => {
      await expect(resolveStartupBundle({ manager, fetch: async () => undefined })).rejects.toThrow(
        /no valid NGINX config bundle/,
      );
    });
  });
});
