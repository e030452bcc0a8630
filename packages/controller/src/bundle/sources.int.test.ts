import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { buildTar, buildZip } from '@ecs-ingress/testkit/archives';
import { type FauxqsHarness, startFauxqsServer } from '@ecs-ingress/testkit/aws';
import { firstValueFrom, ReplaySubject, take, timeout, toArray } from 'rxjs';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createMetrics } from '../http/metrics.js';
import { DirectoryBundleSource } from './directory-bundle-source.js';
import { BundleRejectedError } from './errors.js';
import { S3BundleSource } from './s3-bundle-source.js';
import type { BundleCandidate } from './sources.js';
import { hashTree } from './tree.js';

/** Upper bound for anything asynchronous to show up; a bound, not a performance assertion. */
const WAIT_MS = 10_000;

let tmp: string;
beforeEach(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'ecs-ingress-sources-'));
});
afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('S3BundleSource against fauxqs with the real S3 client', () => {
  let fauxqs: FauxqsHarness;
  let client: S3Client;
  /** HTTP status of every GetObject response the SDK received. */
  let statuses: number[] = [];
  const bucket = 'bundles';
  const key = 'prod/nginx-bundle.zip';

  beforeAll(async () => {
    fauxqs = await startFauxqsServer();
    client = new S3Client(fauxqs.s3Config());
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName !== 'GetObjectCommand') return next(args);
        try {
          const result = await next(args);
          statuses.push((result.response as { statusCode: number }).statusCode);
          return result;
        } catch (error) {
          statuses.push(
            (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode ?? -1,
          );
          throw error;
        }
      },
      { step: 'deserialize', name: 'recordStatus' },
    );
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  });
  afterAll(async () => {
    client?.destroy();
    await fauxqs?.close();
  });
  beforeEach(() => {
    statuses = [];
  });

  const put = async (body: Buffer) =>
    client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
  const zipOf = (text: string) => buildZip([{ name: 'nginx.conf', content: `# ${text}\nevents {}\n` }]);

  it('downloads once, then conditional GETs answer 304 with no body until the object changes', async () => {
    const metrics = createMetrics({ defaults: false });
    await put(await zipOf('v1'));
    const source = new S3BundleSource({ client: async () => client, bucket, key, metrics });

    const first = await source.check();
    expect(first).toBeDefined();
    expect(first?.origin).toMatch(/^s3:\/\/bundles\/prod\/nginx-bundle\.zip@"[0-9a-f]{32}"$/);
    const dir = join(tmp, 'v1');
    await first?.materialise(dir, { mainFile: 'nginx.conf' });
    expect(await readFile(join(dir, 'nginx.conf'), 'utf8')).toContain('# v1');

    expect(await source.check()).toBeUndefined();
    expect(await source.check()).toBeUndefined();
    expect(statuses).toEqual([200, 304, 304]);
    expect(source.stats).toMatchObject({ downloads: 1, notModified: 2, errors: 0 });

    await put(buildTar([{ path: 'nginx.conf', content: '# v2\nevents {}\n' }]));
    const second = await source.check();
    expect(second).toBeDefined();
    expect(second?.id).not.toBe(first?.id);
    expect(statuses).toEqual([200, 304, 304, 200]);
    const dir2 = join(tmp, 'v2');
    await second?.materialise(dir2, { mainFile: 'nginx.conf' });
    expect(await readFile(join(dir2, 'nginx.conf'), 'utf8')).toContain('# v2');

    const checks = (await metrics.bundleChecks.get()).values;
    const count = (result: string) => checks.find((v) => v.labels.result === result)?.value;
    expect(count('changed')).toBe(2);
    expect(count('unchanged')).toBe(2);
    source.stop();
  });

  it("forget(id) after a failure that was not the bundle's: the next check downloads it again", async () => {
    await put(await zipOf('forget'));
    const source = new S3BundleSource({ client: async () => client, bucket, key });
    const first = await source.check();
    expect(await source.check()).toBeUndefined();
    source.forget('0000000000000000'); // not the last candidate: no effect
    expect(await source.check()).toBeUndefined();
    source.forget(first?.id ?? '');
    const again = await source.check();
    expect(again?.id).toBe(first?.id);
    expect(await source.check()).toBeUndefined();
    expect(statuses).toEqual([200, 304, 304, 200, 304]);
    source.stop();
  });

  it('candidates$ emits the bundle and then each new version, and completes on stop()', async () => {
    await put(await zipOf('a'));
    const source = new S3BundleSource({ client: async () => client, bucket, key, intervalMs: 20 });
    const seen = new ReplaySubject<BundleCandidate>();
    const subscription = source.candidates$.subscribe(seen);
    const first = await firstValueFrom(seen.pipe(take(1), timeout(WAIT_MS)));
    await put(await zipOf('b'));
    const [, second] = await firstValueFrom(seen.pipe(take(2), toArray(), timeout(WAIT_MS)));
    expect(second?.id).not.toBe(first.id);
    // Between the two versions, checks were conditional: bodies only for a and b.
    expect(source.stats.downloads).toBe(2);
    source.stop();
    expect(subscription.closed).toBe(true);
  });

  it('an object over the download limit is refused once, then not fetched again until it changes', async () => {
    await put(await zipOf('big'));
    const source = new S3BundleSource({ client: async () => client, bucket, key, maxDownloadBytes: 16 });
    const refused = await source.check().catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(BundleRejectedError);
    expect((refused as BundleRejectedError).reason).toBe('too-large');
    expect(await source.check()).toBeUndefined();
    expect(statuses).toEqual([200, 304]);
    await put(await zipOf('bigger'));
    await expect(source.check()).rejects.toBeInstanceOf(BundleRejectedError);
    expect(statuses).toEqual([200, 304, 200]);
    expect(source.stats).toMatchObject({ downloads: 0, notModified: 1, errors: 2 });
    source.stop();
  });

  it('a missing object is an error the caller sees (and the stream survives)', async () => {
    const source = new S3BundleSource({ client: async () => client, bucket, key: 'nope.zip' });
    await expect(source.check()).rejects.toThrow();
    expect(source.stats.errors).toBe(1);
    source.stop();
  });

  it('the downloaded archive is checked like any other: a traversal zip is refused', async () => {
    await put(await buildZip([{ name: '../../evil', content: 'x' }]));
    const source = new S3BundleSource({ client: async () => client, bucket, key });
    const candidate = await source.check();
    const error = await candidate
      ?.materialise(join(tmp, 'x'), { mainFile: 'nginx.conf' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BundleRejectedError);
    expect((error as BundleRejectedError).reason).toBe('path-traversal');
    source.stop();
  });
});

describe('DirectoryBundleSource', () => {
  async function makeBundleDir(): Promise<string> {
    const dir = join(tmp, 'conf');
    await mkdir(join(dir, 'conf.d'), { recursive: true });
    await writeFile(join(dir, 'nginx.conf'), 'events {}\nhttp { include conf.d/*.conf; }\n');
    await writeFile(join(dir, 'conf.d', 'a.conf'), '# a\n');
    return dir;
  }

  it('the content id changes with content and with paths, not with time', async () => {
    const dir = await makeBundleDir();
    const id = await hashTree(dir);
    expect(await hashTree(dir)).toBe(id);
    await writeFile(join(dir, 'conf.d', 'a.conf'), '# a2\n');
    const edited = await hashTree(dir);
    expect(edited).not.toBe(id);
    await rename(join(dir, 'conf.d', 'a.conf'), join(dir, 'conf.d', 'b.conf'));
    expect(await hashTree(dir)).not.toBe(edited);
  });

  it('check(): a candidate first, then nothing until an edit; materialise copies the tree', async () => {
    const dir = await makeBundleDir();
    const source = new DirectoryBundleSource({ dir });
    const first = await source.check();
    expect(first?.origin).toBe(dir);
    expect(await source.check()).toBeUndefined();
    await writeFile(join(dir, 'conf.d', 'a.conf'), '# edited\n');
    const second = await source.check();
    expect(second?.id).not.toBe(first?.id);
    const staging = join(tmp, 'staging');
    await second?.materialise(staging, { mainFile: 'nginx.conf' });
    expect(await readFile(join(staging, 'conf.d', 'a.conf'), 'utf8')).toBe('# edited\n');
    source.stop();
  });

  it('forget(id): the next check offers the unchanged tree again; another id changes nothing', async () => {
    const dir = await makeBundleDir();
    const source = new DirectoryBundleSource({ dir });
    const first = await source.check();
    source.forget('0000000000000000');
    expect(await source.check()).toBeUndefined();
    source.forget(first?.id ?? '');
    expect((await source.check())?.id).toBe(first?.id);
    expect(await source.check()).toBeUndefined();
    source.stop();
  });

  it.each([
    ['fs.watch (periodic check effectively off)', { watch: true, pollIntervalMs: 3_600_000, debounceMs: 50 }],
    ['the periodic check alone', { watch: false, pollIntervalMs: 50 }],
  ])('edits in a subdirectory are picked up by %s', async (_name, options) => {
    const dir = await makeBundleDir();
    const source = new DirectoryBundleSource({ dir, ...options });
    const seen = new ReplaySubject<BundleCandidate>();
    source.candidates$.subscribe(seen);
    const first = await firstValueFrom(seen.pipe(take(1), timeout(WAIT_MS)));
    await writeFile(join(dir, 'conf.d', 'a.conf'), '# changed\n');
    const [, second] = await firstValueFrom(seen.pipe(take(2), toArray(), timeout(WAIT_MS)));
    expect(second?.id).toBe(await hashTree(dir));
    expect(second?.id).not.toBe(first.id);
    source.stop();
  });

  it('a directory over the file limit is refused when materialised', async () => {
    const dir = await makeBundleDir();
    for (let i = 0; i < 5; i++) await writeFile(join(dir, `f${i}.conf`), '');
    const source = new DirectoryBundleSource({ dir });
    const candidate = await source.check();
    const error = await candidate?.materialise(join(tmp, 's'), { maxFiles: 4 }).catch((e: unknown) => e);
    expect((error as BundleRejectedError).reason).toBe('too-many-files');
    source.stop();
  });
});
