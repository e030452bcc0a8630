import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  ListQueueTagsCommand,
  QueueDoesNotExist,
  ReceiveMessageCommand,
  SendMessageCommand,
  SetQueueAttributesCommand,
  SQSClient,
  TagQueueCommand,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FauxqsHarness, startFauxqsServer } from './fauxqs.js';

let fq: FauxqsHarness;
let sqs: SQSClient;
let s3: S3Client;

beforeAll(async () => {
  fq = await startFauxqsServer();
  sqs = new SQSClient({ ...fq.sqsConfig(), maxAttempts: 1 });
  s3 = new S3Client({ ...fq.s3Config(), maxAttempts: 1 });
});
afterAll(async () => {
  sqs.destroy();
  s3.destroy();
  await fq.close();
});

describe('fauxqs with the real SQS client', () => {
  it('create, send, long-poll receive, batch delete, attributes, tags, delete', async () => {
    const { QueueUrl } = await sqs.send(
      new CreateQueueCommand({ QueueName: 'probe', tags: { cluster: 'default' } }),
    );
    expect(QueueUrl).toBeDefined();
    await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: '{"a":1}' }));
    await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'not json' }));
    const got = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
    );
    expect(got.Messages?.map((m) => m.Body).sort()).toEqual(['not json', '{"a":1}'].sort());
    const del = await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl,
        Entries: got.Messages!.map((m, i) => ({ Id: `m${i}`, ReceiptHandle: m.ReceiptHandle! })),
      }),
    );
    expect(del.Successful).toHaveLength(2);
    expect(del.Failed ?? []).toEqual([]);
    const empty = await sqs.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 1 }));
    expect(empty.Messages ?? []).toEqual([]);

    await sqs.send(new TagQueueCommand({ QueueUrl, Tags: { heartbeat: '2024-01-01T00:00:00Z' } }));
    const tags = await sqs.send(new ListQueueTagsCommand({ QueueUrl }));
    expect(tags.Tags).toEqual({ cluster: 'default', heartbeat: '2024-01-01T00:00:00Z' });

    await sqs.send(new DeleteQueueCommand({ QueueUrl }));
    expect(fq.server.inspectQueue('probe')).toBeUndefined();
  });

  it('a long poll returns a message sent while it waits', async () => {
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'waiting' }));
    const receive = sqs.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 5 }));
    await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'late' }));
    expect((await receive).Messages?.[0]?.Body).toBe('late');
  });

  it('SetQueueAttributes accepts a queue Policy and KMS SSE, and GetQueueAttributes returns them', async () => {
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'with-policy' }));
    const policy = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { Service: 'events.amazonaws.com' },
          Action: 'sqs:SendMessage',
          Resource: '*',
        },
      ],
    });
    await sqs.send(
      new SetQueueAttributesCommand({
        QueueUrl,
        Attributes: { Policy: policy, KmsMasterKeyId: 'alias/aws/sqs' },
      }),
    );
    const attrs = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['All'] }));
    expect(attrs.Attributes?.Policy).toBe(policy);
    expect(attrs.Attributes?.KmsMasterKeyId).toBe('alias/aws/sqs');
  });

  // fauxqs 2 keeps SqsManagedSseEnabled (SSE-SQS) from CreateQueue and SetQueueAttributes alike
  // (1.x rejected it on SetQueueAttributes), as SQS does.
  it('SqsManagedSseEnabled: accepted by CreateQueue and SetQueueAttributes', async () => {
    const created = await sqs.send(
      new CreateQueueCommand({ QueueName: 'sse-sqs', Attributes: { SqsManagedSseEnabled: 'true' } }),
    );
    expect(created.QueueUrl).toBeDefined();
    await sqs.send(
      new SetQueueAttributesCommand({
        QueueUrl: created.QueueUrl,
        Attributes: { SqsManagedSseEnabled: 'false' },
      }),
    );
    const attrs = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: created.QueueUrl, AttributeNames: ['All'] }),
    );
    expect(attrs.Attributes?.SqsManagedSseEnabled).toBe('false');
  });

  it('a missing queue is QueueDoesNotExist', async () => {
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'present' }));
    const err = await sqs
      .send(new ReceiveMessageCommand({ QueueUrl: QueueUrl!.replace('/present', '/absent') }))
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(QueueDoesNotExist);
  });
});

describe('fauxqs with the real S3 client', () => {
  it('PutObject, GetObject, HeadObject, and conditional GET with IfNoneMatch → 304', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'bundles' }));
    const put = await s3.send(
      new PutObjectCommand({ Bucket: 'bundles', Key: 'nginx/bundle.zip', Body: 'zip-bytes' }),
    );
    expect(put.ETag).toMatch(/^".+"$/);
    const got = await s3.send(new GetObjectCommand({ Bucket: 'bundles', Key: 'nginx/bundle.zip' }));
    expect(await got.Body?.transformToString()).toBe('zip-bytes');
    expect(got.ETag).toBe(put.ETag);
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'bundles', Key: 'nginx/bundle.zip' }));
    expect(head.ETag).toBe(put.ETag);
    expect(head.ContentLength).toBe(9);

    const err = await s3
      .send(new GetObjectCommand({ Bucket: 'bundles', Key: 'nginx/bundle.zip', IfNoneMatch: put.ETag! }))
      .then(
        () => undefined,
        (e: unknown) => e as Error & { $metadata?: { httpStatusCode?: number } },
      );
    // An empty-bodied 304 has no error code, so the SDK names it 'Unknown' (as it would for real S3):
    // detect "not modified" by $metadata.httpStatusCode.
    expect(err?.$metadata?.httpStatusCode).toBe(304);
    expect(err?.name).toBe('Unknown');

    // Gap: fauxqs ignores If-None-Match on HEAD (real S3 answers 304 there too).
    const headIfNoneMatch = await s3.send(
      new HeadObjectCommand({ Bucket: 'bundles', Key: 'nginx/bundle.zip', IfNoneMatch: put.ETag! }),
    );
    expect(headIfNoneMatch.$metadata.httpStatusCode).toBe(200);

    const changed = await s3.send(
      new GetObjectCommand({ Bucket: 'bundles', Key: 'nginx/bundle.zip', IfNoneMatch: '"something-else"' }),
    );
    expect(await changed.Body?.transformToString()).toBe('zip-bytes');
  });

  it('GetObject of a missing key is NoSuchKey', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'empty' }));
    const err = await s3.send(new GetObjectCommand({ Bucket: 'empty', Key: 'nope' })).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err?.name).toBe('NoSuchKey');
  });
});
