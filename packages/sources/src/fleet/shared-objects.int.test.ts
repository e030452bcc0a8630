import { gzipSync } from 'node:zlib';
import type { TaskDefinition } from '@aws-sdk/client-ecs';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { type S3Fake, startS3Fake } from '@ecs-ingress/testkit/aws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FleetHooks } from './fleet-hooks.js';
import { FleetObjects } from './fleet-objects.js';
import { parseSharedS3Uri } from './shared-s3-uri.js';
import {
  decodeListing,
  encodeListing,
  type SharedListing,
  SharedListingInvalidError,
} from './snapshot-codec.js';
import { SharedTaskDefinitionCache, taskDefinitionObject } from './task-definition-cache.js';

let fake: S3Fake;
let s3: S3Client;

beforeAll(async () => {
  fake = await startS3Fake();
  s3 = new S3Client({ ...fake.clientConfig(), maxAttempts: 1 });
  await s3.send(new CreateBucketCommand({ Bucket: 'shared' }));
});
afterAll(async () => {
  s3.destroy();
  await fake.close();
});

const ARN = 'arn:aws:ecs:us-east-1:123456789012:task-definition/web:7';
const TD: TaskDefinition = {
  taskDefinitionArn: ARN,
  family: 'web',
  revision: 7,
  networkMode: 'awsvpc',
  containerDefinitions: [{ name: 'app', portMappings: [{ containerPort: 8080, protocol: 'tcp' }] }],
};

describe('SharedTaskDefinitionCache on the S3 fake', () => {
  it('misses, then the first writer wins and every reader hits', async () => {
    const outcomes: string[] = [];
    const hooks: FleetHooks = { onSharedTaskDefinition: (o) => outcomes.push(o) };
    const objects = new FleetObjects(async () => s3, { bucket: 'shared', prefix: 'tdc/' });
    const a = new SharedTaskDefinitionCache(objects, hooks);
    const b = new SharedTaskDefinitionCache(objects, hooks);
    expect(await a.get(ARN)).toBeUndefined();
    await Promise.all([a.put(ARN, TD), b.put(ARN, { ...TD, family: 'second-writer' })]);
    expect(outcomes.filter((o) => o === 'written')).toHaveLength(1);
    const [x, y] = await Promise.all([a.get(ARN), b.get(ARN)]);
    expect(x).toEqual(y);
    expect(outcomes).toEqual(['miss', 'written', 'hit', 'hit']);
    expect(fake.keys('shared', 'tdc/')).toEqual([`tdc/${taskDefinitionObject(ARN)}`]);
  });

  it('treats S3 failing as a miss (ECS is asked) and counts the error', async () => {
    const outcomes: string[] = [];
    const cache = new SharedTaskDefinitionCache(
      new FleetObjects(async () => s3, { bucket: 'shared', prefix: 'tdc2/' }),
      {
        onSharedTaskDefinition: (o) => outcomes.push(o),
      },
    );
    fake.outage('unavailable');
    try {
      expect(await cache.get(ARN)).toBeUndefined();
      await cache.put(ARN, TD);
    } finally {
      fake.outage(undefined);
    }
    expect(outcomes).toEqual(['error', 'error']);
  });
});

describe('shared listing codec', () => {
  const listing: SharedListing = {
    clusterArn: 'arn:aws:ecs:us-east-1:123456789012:cluster/prod',
    startedAt: 1_700_000_000_000,
    writtenBy: 'i-0abc',
    tasks: [],
    services: ['web'],
    taskDefinitions: [],
    containerInstances: [],
  };

  it('round-trips through gzip', () => {
    expect(decodeListing(encodeListing(listing))).toEqual(listing);
  });

  it.each([
    ['not gzip', Buffer.from('plain')],
    ['gzip of not JSON', gzipSync('nope')],
    ['another format', gzipSync(JSON.stringify({ ...listing, format: 2 }))],
    ['startedAt missing', gzipSync(JSON.stringify({ ...listing, format: 1, startedAt: 'x' }))],
    ['tasks not objects', gzipSync(JSON.stringify({ ...listing, format: 1, tasks: [1] }))],
  ])('refuses %s with a coded error', (_name, bytes) => {
    expect(() => decodeListing(bytes)).toThrow(SharedListingInvalidError);
  });
});

describe('parseSharedS3Uri', () => {
  it.each([
    ['s3://bucket-a/x/y', { bucket: 'bucket-a', prefix: 'x/y/' }],
    ['s3://bucket-a', { bucket: 'bucket-a', prefix: '' }],
  ])('%s', (text, want) => {
    expect(parseSharedS3Uri(text)).toEqual(want);
  });

  it.each(['', 's3:/bucket', 's3://a', 's3://UPPER/x', 's3://b..c/x', 's3://bucket-a//x'])(
    'refuses %j',
    (text) => {
      expect(parseSharedS3Uri(text)).toHaveProperty('error');
    },
  );
});
