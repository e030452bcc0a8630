import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type S3Fake, startS3Fake } from './s3-fake.js';

let fake: S3Fake;
let s3: S3Client;

beforeAll(async () => {
  fake = await startS3Fake();
  s3 = new S3Client({ ...fake.clientConfig(), maxAttempts: 1 });
  await s3.send(new CreateBucketCommand({ Bucket: 'fleet' }));
});
afterAll(async () => {
  s3.destroy();
  await fake.close();
});

async function statusOf(p: Promise<unknown>): Promise<number> {
  try {
    await p;
    return 200;
  } catch (err) {
    if (err instanceof S3ServiceException) return err.$metadata.httpStatusCode ?? -1;
    throw err;
  }
}

describe('S3 fake: conditional writes as S3 answers them (real @aws-sdk/client-s3)', () => {
  it('If-None-Match: * lets exactly one of many concurrent takers write', async () => {
    const clients = Array.from(
      { length: 12 },
      () => new S3Client({ ...fake.clientConfig(), maxAttempts: 1 }),
    );
    const results = await Promise.all(
      clients.map((c, i) =>
        statusOf(
          c.send(
            new PutObjectCommand({ Bucket: 'fleet', Key: 'lease', Body: `holder-${i}`, IfNoneMatch: '*' }),
          ),
        ),
      ),
    );
    for (const c of clients) c.destroy();
    expect(results.filter((s) => s === 200)).toHaveLength(1);
    expect(results.filter((s) => s === 412)).toHaveLength(11);
    const winner = results.indexOf(200);
    expect(fake.object('fleet', 'lease')?.body.toString()).toBe(`holder-${winner}`);
  });

  it('If-Match renews with the current ETag only; a stale ETag gets 412, a missing key 404', async () => {
    const first = await s3.send(new PutObjectCommand({ Bucket: 'fleet', Key: 'm', Body: 'a' }));
    const second = await s3.send(
      new PutObjectCommand({ Bucket: 'fleet', Key: 'm', Body: 'b', IfMatch: first.ETag }),
    );
    expect(second.ETag).not.toBe(first.ETag);
    expect(
      await statusOf(
        s3.send(new PutObjectCommand({ Bucket: 'fleet', Key: 'm', Body: 'c', IfMatch: first.ETag })),
      ),
    ).toBe(412);
    expect(
      await statusOf(
        s3.send(new PutObjectCommand({ Bucket: 'fleet', Key: 'nope', Body: 'c', IfMatch: first.ETag })),
      ),
    ).toBe(404);
    expect(fake.object('fleet', 'm')?.body.toString()).toBe('b');
  });

  it('GetObject with If-None-Match answers 304 while unchanged, the body once changed', async () => {
    const put = await s3.send(
      new PutObjectCommand({
        Bucket: 'fleet',
        Key: 'snap',
        Body: Buffer.from([1, 2, 3]),
        ContentEncoding: 'gzip',
      }),
    );
    expect(
      await statusOf(s3.send(new GetObjectCommand({ Bucket: 'fleet', Key: 'snap', IfNoneMatch: put.ETag }))),
    ).toBe(304);
    await s3.send(
      new PutObjectCommand({ Bucket: 'fleet', Key: 'snap', Body: Buffer.from([4, 5]), Metadata: { a: '1' } }),
    );
    const got = await s3.send(new GetObjectCommand({ Bucket: 'fleet', Key: 'snap', IfNoneMatch: put.ETag }));
    expect([...(await got.Body!.transformToByteArray())]).toEqual([4, 5]);
    expect(got.Metadata).toEqual({ a: '1' });
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'fleet', Key: 'snap' }));
    expect(head.ETag).toBe(got.ETag);
    await s3.send(new DeleteObjectCommand({ Bucket: 'fleet', Key: 'snap' }));
    expect(await statusOf(s3.send(new GetObjectCommand({ Bucket: 'fleet', Key: 'snap' })))).toBe(404);
  });

  it('an outage answers 503 to every request until it ends', async () => {
    fake.outage('unavailable');
    try {
      expect(await statusOf(s3.send(new GetObjectCommand({ Bucket: 'fleet', Key: 'm' })))).toBe(503);
    } finally {
      fake.outage(undefined);
    }
    expect(await statusOf(s3.send(new GetObjectCommand({ Bucket: 'fleet', Key: 'm' })))).toBe(200);
  });
});
