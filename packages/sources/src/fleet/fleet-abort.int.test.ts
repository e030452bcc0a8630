/**
 * SIGTERM must not wait on S3: the lease, the shared listing and the shared task-definition cache
 * all take an abort signal. Against the S3 fake with requests left unanswered (`hang`), and SDK
 * clients without a request timeout, so only the abort can end a call.
 */
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { type S3Fake, startS3Fake } from '@ecs-ingress/testkit/aws';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { FleetObjects } from './fleet-objects.js';
import { FleetSync } from './fleet-sync.js';
import { S3Lease } from './lease.js';
import { ListingTap } from './listing-tap.js';
import { SharedTaskDefinitionCache } from './task-definition-cache.js';

let fake: S3Fake;
let s3: S3Client;
const location = { bucket: 'abort', prefix: 'p/' };
const WAIT = { timeout: 10_000, interval: 20 };

/** `promise`, or a rejection naming `what` once `ms` passed (a bound, so a hang fails the test). */
function within<T>(promise: Promise<T>, what: string, ms = 5_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} still pending after ${ms} ms`)), ms);
  });
  return Promise.race([promise, bound]).finally(() => clearTimeout(timer));
}

beforeAll(async () => {
  fake = await startS3Fake();
  s3 = new S3Client({ ...fake.clientConfig(), maxAttempts: 1 });
  await s3.send(new CreateBucketCommand({ Bucket: location.bucket }));
});
afterEach(() => fake.outage(undefined));
afterAll(async () => {
  s3.destroy();
  await fake.close();
});

describe('S3 calls of the fleet end when aborted', () => {
  it('FleetSync.stop() returns while its lease read hangs, and counts no S3 error', async () => {
    const s3Errors: string[] = [];
    const roles: string[] = [];
    const fleet = new FleetSync({
      poller: {
        fullSync: () => Promise.reject(new Error('no listing in this test')),
        references: {
          hasTaskDefinition: () => true,
          hasContainerInstance: () => true,
          resolveTaskDefinitions: () => Promise.resolve(0),
        },
      },
      tap: new ListingTap(),
      sink: { dispatch: () => 'applied' },
      lookup: { taskDefinition: () => undefined, containerInstance: () => undefined },
      objects: new FleetObjects(async () => s3, location),
      identity: 'i-stopping',
      hooks: { onS3Error: (op) => s3Errors.push(op), onRole: (role) => roles.push(role) },
    });
    fake.outage('hang');
    const hungBefore = fake.calls('Hung');
    fleet.start();
    await vi.waitFor(() => expect(fake.calls('Hung')).toBeGreaterThan(hungBefore), WAIT);
    await within(fleet.stop(), 'stop()');
    expect(s3Errors).toEqual([]);
    // Stopping is no outage: the daemon did not turn standalone on its way out.
    expect(roles).toEqual([]);
  });

  it('a lease step rejects as soon as its signal aborts', async () => {
    const lease = new S3Lease({
      objects: new FleetObjects(async () => s3, location),
      identity: 'i-a',
      leaseMs: 1_000,
    });
    fake.outage('hang');
    const abort = new AbortController();
    const step = lease.step(abort.signal);
    await vi.waitFor(() => expect(fake.calls('Hung')).toBeGreaterThan(0), WAIT);
    abort.abort();
    await expect(within(step, 'the lease step')).rejects.toThrow(/abort/i);
  });

  it('the shared task-definition cache answers a miss once aborted, without counting an error', async () => {
    const outcomes: string[] = [];
    const cache = new SharedTaskDefinitionCache(new FleetObjects(async () => s3, location), {
      onSharedTaskDefinition: (o) => outcomes.push(o),
    });
    fake.outage('hang');
    const hungBefore = fake.calls('Hung');
    const abort = new AbortController();
    const got = cache.get('arn:aws:ecs:us-east-1:123456789012:task-definition/web:1', abort.signal);
    await vi.waitFor(() => expect(fake.calls('Hung')).toBeGreaterThan(hungBefore), WAIT);
    abort.abort();
    expect(await within(got, 'the cache read')).toBeUndefined();
    expect(outcomes).toEqual([]);
  });
});
