/**
 * The whole bundle path with real parts: bundles in fauxqs S3, the real S3 client, the real
 * `nginx -t`, a real NGINX supervised by NginxRunner serving HTTP on loopback. A bad bundle (one
 * that fails `nginx -t`, one that passes it but cannot be loaded) never interrupts the old config.
 */
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { NginxReloadFailedError, NginxRunner } from '@ecs-ingress/nginx-runner';
import { buildZip } from '@ecs-ingress/testkit/archives';
import { type FauxqsHarness, startFauxqsServer } from '@ecs-ingress/testkit/aws';
import { freePort, httpGet } from '@ecs-ingress/testkit/net';
import { hasNginx, nginxTestConf } from '@ecs-ingress/testkit/nginx';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BundleManager } from './bundle-manager.js';
import type { BundleRejectedError } from './errors.js';
import { createNginxTester } from './nginx-tester.js';
import { S3BundleSource } from './s3-bundle-source.js';
import { resolveStartupBundle } from './startup.js';

async function listenOnLoopback(): Promise<Server> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return server;
}

function portOf(server: Server): number {
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

async function get(port: number): Promise<string> {
  return (await httpGet({ port })).body;
}

function conf(upstreamsFile: string, body: string, listen: string): string {
  return nginxTestConf({
    workerConnections: 64,
    httpIncludes: [upstreamsFile, 'conf.d/*.conf'],
    http: ['  server {', `    ${listen}`, `    location / { return 200 "${body}"; }`, '  }'],
  });
}

describe.skipIf(!hasNginx)('config bundle end to end (fauxqs S3 + real NGINX)', () => {
  let tmp: string;
  let fauxqs: FauxqsHarness;
  let client: S3Client;
  let runner: NginxRunner | undefined;
  let held: Server | undefined;

  beforeEach(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'ecs-ingress-bundle-e2e-'));
    // NGINX workers drop to `nobody` when the tests run as root.
    await chmod(tmp, 0o755);
    fauxqs = await startFauxqsServer();
    client = new S3Client(fauxqs.s3Config());
    await client.send(new CreateBucketCommand({ Bucket: 'bundle-e2e' }));
  });
  afterEach(async () => {
    await runner?.stop();
    runner = undefined;
    held?.close();
    held = undefined;
    client.destroy();
    await fauxqs.close();
    await rm(tmp, { recursive: true, force: true });
  });

  it('serves the old config through a refused bundle and a failed reload, and the new one after a good bundle', async () => {
    const prefix = join(tmp, 'prefix');
    await mkdir(prefix, { recursive: true });
    const upstreamsFile = join(tmp, 'upstreams.conf');
    await writeFile(upstreamsFile, 'upstream web {\n    server 127.0.0.1:80 down;\n}\n');
    const port = await freePort();
    const listen = `listen 127.0.0.1:${port};`;
    const put = async (files: Record<string, string>) =>
      client.send(
        new PutObjectCommand({
          Bucket: 'bundle-e2e',
          Key: 'bundle.zip',
          Body: await buildZip(Object.entries(files).map(([name, content]) => ({ name, content }))),
        }),
      );
    const source = new S3BundleSource({
      client: async () => client,
      bucket: 'bundle-e2e',
      key: 'bundle.zip',
    });
    const manager = new BundleManager({
      workDir: join(tmp, 'work'),
      upstreamsFile,
      tester: createNginxTester({ prefix }),
    });

    // Start-up with v1.
    await put({ 'nginx.conf': conf(upstreamsFile, 'v1', listen), 'conf.d/extra.conf': '# nothing\n' });
    const startup = await resolveStartupBundle({ manager, fetch: () => source.check() });
    expect(startup.fresh).toBe(true);
    const first = await manager.activate(startup.bundle);
    runner = new NginxRunner({ prefix, configFile: manager.configFile });
    await runner.start();
    await first.confirm();
    expect(await get(port)).toBe('v1');

    // A bundle that fails nginx -t: refused, NGINX untouched.
    await put({ 'nginx.conf': conf(upstreamsFile, 'broken', `${listen}\n    bogus_directive on;`) });
    const bad = await source.check();
    expect(bad).toBeDefined();
    const refused = await manager.stage(bad!).catch((e: unknown) => e);
    expect((refused as BundleRejectedError).reason).toBe('nginx-test-failed');
    expect((await manager.current())?.id).toBe(startup.bundle.id);
    expect(await get(port)).toBe('v1');

    // v2: staged, flipped, reloaded, confirmed.
    await put({ 'nginx.conf': conf(upstreamsFile, 'v2', listen) });
    const v2 = await manager.stage((await source.check())!);
    const second = await manager.activate(v2);
    await runner.reload();
    await second.confirm();
    expect(await get(port)).toBe('v2');

    // Passes nginx -t (which binds nothing) but NGINX cannot load it: the port is taken.
    held = await listenOnLoopback();
    await put({
      'nginx.conf': conf(upstreamsFile, 'v3', `${listen}\n    listen 127.0.0.1:${portOf(held)};`),
    });
    const v3 = await manager.stage((await source.check())!);
    const third = await manager.activate(v3);
    const reloadError = await runner.reload().catch((e: unknown) => e);
    expect(reloadError).toBeInstanceOf(NginxReloadFailedError);
    await third.revert(reloadError as Error);
    expect((await manager.current())?.id).toBe(v2.id);
    expect(manager.rejectionOf(v3.id)?.reason).toBe('reload-failed');
    expect(await get(port)).toBe('v2');

    // Unchanged bucket: a 304, nothing to stage.
    expect(await source.check()).toBeUndefined();
    source.stop();
  });
});
