import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { type S3Fake, startS3Fake } from '@ecs-ingress/testkit/aws';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FleetObjects } from './fleet-objects.js';
import { decideLease, LEASE_OBJECT, parseLeaseRecord, S3Lease } from './lease.js';

let fake: S3Fake;
const clients: S3Client[] = [];
let prefixN = 0;
let prefix = '';

function client(): S3Client {
  const c = new S3Client({ ...fake.clientConfig(), maxAttempts: 1 });
  clients.push(c);
  return c;
}

function lease(identity: string, clock: { t: number }, leaseMs = 1_000): S3Lease {
  const s3 = client();
  return new S3Lease({
    objects: new FleetObjects(async () => s3, { bucket: 'fleet', prefix }),
    identity,
    leaseMs,
    now: () => clock.t,
  });
}

beforeAll(async () => {
  fake = await startS3Fake();
  await client().send(new CreateBucketCommand({ Bucket: 'fleet' }));
});
afterAll(async () => {
  for (const c of clients) c.destroy();
  await fake.close();
});
beforeEach(() => {
  prefix = `t${++prefixN}/`;
});

describe('decideLease (pure)', () => {
  const current = { etag: '"a"', record: { holder: 'i-other', renewedAt: 0, leaseMs: 1000, term: 1 } };
  it.each([
    ['absent → create', undefined, undefined, 0, 'create'],
    ['ours → renew', { ...current, record: { ...current.record, holder: 'i-me' } }, undefined, 0, 'renew'],
    ['theirs, first seen now → follow', current, { etag: '"a"', firstSeenAt: 500 }, 500, 'follow'],
    [
      'theirs, same ETag for less than the lease → follow',
      current,
      { etag: '"a"', firstSeenAt: 0 },
      999,
      'follow',
    ],
    [
      'theirs, same ETag for the lease → takeover',
      current,
      { etag: '"a"', firstSeenAt: 0 },
      1000,
      'takeover',
    ],
    ['theirs, renewed since (new ETag) → follow', current, { etag: '"b"', firstSeenAt: 0 }, 5000, 'follow'],
    [
      'unparseable, unchanged for the lease → takeover',
      { etag: '"a"', record: undefined },
      { etag: '"a"', firstSeenAt: 0 },
      1000,
      'takeover',
    ],
  ] as const)('%s', (_name, cur, sighting, now, want) => {
    expect(decideLease({ current: cur, me: 'i-me', now, leaseMs: 1000, sighting })).toBe(want);
  });

  it('parseLeaseRecord refuses what is not a lease', () => {
    expect(parseLeaseRecord(Buffer.from('{"holder":1}'))).toBeUndefined();
    expect(parseLeaseRecord(Buffer.from('not json'))).toBeUndefined();
    expect(parseLeaseRecord(Buffer.from('{"holder":"i-1","renewedAt":1,"leaseMs":5,"term":2}'))?.holder).toBe(
      'i-1',
    );
  });
});

describe('S3Lease against an S3 fake that answers conditional writes with 412', () => {
  it('of 10 concurrent takers exactly one becomes the lister', async () => {
    const clock = { t: 0 };
    const takers = Array.from({ length: 10 }, (_, i) => lease(`i-${i}`, clock));
    const results = await Promise.all(takers.map((l) => l.step()));
    const listers = results.filter((r) => r.role === 'lister');
    expect(listers).toHaveLength(1);
    expect(listers[0]?.acquired).toBe(true);
    const winner = results.findIndex((r) => r.role === 'lister');
    const stored = parseLeaseRecord(
      fake.object('fleet', `${prefix}${LEASE_OBJECT}`)?.body ?? new Uint8Array(),
    );
    expect(stored?.holder).toBe(`i-${winner}`);
    // Everyone else now follows the winner.
    const again = await Promise.all(takers.map((l) => l.step()));
    expect(again.map((r) => r.holder)).toEqual(takers.map(() => `i-${winner}`));
    expect(again.filter((r) => r.role === 'lister')).toHaveLength(1);
  });

  it('a renewing holder keeps the lease however long the others watch', async () => {
    const clock = { t: 0 };
    const holder = lease('i-holder', clock);
    const other = lease('i-other', clock);
    fake.resetCalls();
    expect((await holder.step()).role).toBe('lister');
    for (let i = 0; i < 10; i++) {
      clock.t += 400; // 10 × 400 ms ≫ the 1 s lease, but renewed every 400 ms
      expect(await other.step()).toMatchObject({ role: 'follower', holder: 'i-holder' });
      expect(await holder.step()).toMatchObject({ role: 'lister', acquired: false });
    }
    expect(fake.calls('PutObject:412')).toBe(0);
  });

  it('a lease not renewed for the lease time is taken over by exactly one; the old holder then follows', async () => {
    const clock = { t: 0 };
    const old = lease('i-old', clock);
    const a = lease('i-a', clock);
    const b = lease('i-b', clock);
    await old.step();
    await Promise.all([a.step(), b.step()]); // first sighting of the holder's ETag
    clock.t += 999;
    expect((await Promise.all([a.step(), b.step()])).map((r) => r.role)).toEqual(['follower', 'follower']);
    clock.t += 1;
    const taken = await Promise.all([a.step(), b.step()]);
    expect(taken.filter((r) => r.role === 'lister' && r.acquired)).toHaveLength(1);
    // The old holder comes back from a pause: its renewal gets 412 and it follows.
    const back = await old.step();
    expect(back.role).toBe('follower');
    expect(old.isHeld).toBe(false);
    expect((await old.step()).holder).toBe(taken[0]?.role === 'lister' ? 'i-a' : 'i-b');
  });

  it('a holder restarted with the same identity takes its lease back at once', async () => {
    const clock = { t: 0 };
    await lease('i-same', clock).step();
    const restarted = lease('i-same', clock);
    expect(await restarted.step()).toMatchObject({ role: 'lister', acquired: true });
  });

  it('S3 unreachable: the step throws (the caller syncs by itself)', async () => {
    const l = lease('i-x', { t: 0 });
    fake.outage('unavailable');
    try {
      await expect(l.step()).rejects.toThrow();
    } finally {
      fake.outage(undefined);
    }
    expect((await l.step()).role).toBe('lister');
  });
});

describe('a resigned holder (its listing fails)', () => {
  it('stops renewing: another takes over after the lease time; alone, it takes its lease back', async () => {
    const clock = { t: 0 };
    const holder = lease('i-holder', clock);
    const other = lease('i-other', clock);
    expect((await holder.step()).role).toBe('lister');
    holder.release();
    expect(await holder.step()).toMatchObject({ role: 'follower', holder: 'i-holder' });
    await other.step();
    clock.t += 1_000;
    expect(await other.step()).toMatchObject({ role: 'lister', acquired: true });
    expect((await holder.step()).holder).toBe('i-other');

    prefix = `${prefix}alone/`;
    const alone = lease('i-alone', clock);
    await alone.step();
    alone.release();
    expect((await alone.step()).role).toBe('follower');
    clock.t += 1_000;
    expect(await alone.step()).toMatchObject({ role: 'lister', acquired: true });
  });
});
