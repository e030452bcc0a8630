import { describe, expect, it } from 'vitest';
import { xorshift } from '../test-support/xorshift.js';
import {
  emptyMap,
  mapDelete,
  mapFromEntries,
  mapGet,
  mapHas,
  mapKeys,
  mapSet,
  mapValues,
  type PersistentMap,
} from './persistent-map.js';

describe('PersistentMap', () => {
  it('sets, gets, replaces and deletes without touching earlier versions', () => {
    const empty = emptyMap<number>();
    const one = mapSet(empty, 'a', 1);
    const two = mapSet(one, 'b', 2);
    const replaced = mapSet(two, 'a', 10);
    const deleted = mapDelete(replaced, 'b');

    expect([empty.size, one.size, two.size, replaced.size, deleted.size]).toEqual([0, 1, 2, 2, 1]);
    expect(mapGet(one, 'a')).toBe(1);
    expect(mapGet(one, 'b')).toBeUndefined();
    expect(mapGet(two, 'a')).toBe(1);
    expect(mapGet(replaced, 'a')).toBe(10);
    expect(mapHas(deleted, 'b')).toBe(false);
    expect(mapGet(deleted, 'a')).toBe(10);
  });

  it('returns the same map when nothing changes', () => {
    const map = mapSet(emptyMap<string>(), 'k', 'v');
    expect(mapSet(map, 'k', 'v')).toBe(map);
    expect(mapDelete(map, 'missing')).toBe(map);
    expect(mapDelete(emptyMap<string>(), 'x')).toBe(emptyMap<string>());
  });

  it('never changes an earlier version, even when later versions share its nodes', () => {
    let map = emptyMap<number>();
    const versions: PersistentMap<number>[] = [];
    for (let i = 0; i < 100; i++) {
      map = mapSet(map, `k${i % 10}`, i);
      versions.push(map);
    }
    expect(mapGet(versions[5]!, 'k5')).toBe(5);
    expect(mapGet(versions[14]!, 'k5')).toBe(5);
    expect(mapGet(versions[15]!, 'k5')).toBe(15);
    expect(mapGet(versions[99]!, 'k5')).toBe(95);
    expect(versions[5]!.size).toBe(6);
  });

  it('keeps 20,000 keys (colliding buckets included) and deletes them all', () => {
    const keys = Array.from({ length: 20_000 }, (_, i) => `arn:aws:ecs:us-east-1:1:task/c/${i.toString(16)}`);
    let map: PersistentMap<number> = emptyMap();
    keys.forEach((k, i) => {
      map = mapSet(map, k, i);
    });
    expect(map.size).toBe(20_000);
    expect(keys.every((k, i) => mapGet(map, k) === i)).toBe(true);
    expect(mapValues(map)).toHaveLength(20_000);
    expect(mapKeys(map)).toEqual([...keys].sort());
    for (const k of keys) map = mapDelete(map, k);
    expect(map.size).toBe(0);
    expect(mapValues(map)).toEqual([]);
  });

  it('matches a plain Map over random sets and deletes, within crowded buckets too, never changing old versions', () => {
    // Keys sharing their last 24 characters (the hashed part) all land in one bucket.
    const sharedTail = '/0123456789abcdef01234567';
    const pool = [
      ...Array.from({ length: 12 }, (_, i) => `crowded-${i}${sharedTail}`),
      ...Array.from({ length: 200 }, (_, i) => `arn:aws:ecs:us-east-1:1:task/c/${(i * 7919).toString(16)}`),
    ];
    const random = xorshift(0x2545f491);
    const next = (n: number) => Math.floor(random() * n);
    let map: PersistentMap<number> = emptyMap();
    const model = new Map<string, number>();
    const history: Array<[PersistentMap<number>, Map<string, number>]> = [];
    for (let step = 0; step < 5_000; step++) {
      const key = pool[next(pool.length)]!;
      if (next(3) === 0) {
        map = mapDelete(map, key);
        model.delete(key);
      } else {
        map = mapSet(map, key, step);
        model.set(key, step);
      }
      if (step % 250 === 0) history.push([map, new Map(model)]);
    }
    history.push([map, model]);
    for (const [version, expected] of history) {
      expect(version.size).toBe(expected.size);
      for (const key of pool) expect(mapGet(version, key)).toBe(expected.get(key));
      expect(mapKeys(version)).toEqual([...expected.keys()].sort());
    }
  });

  it('builds from entries, later entries winning', () => {
    const map = mapFromEntries([
      ['x', 1],
      ['y', 2],
      ['x', 3],
    ]);
    expect(mapKeys(map)).toEqual(['x', 'y']);
    expect(mapGet(map, 'x')).toBe(3);
  });
});

describe('PersistentMap chunks', () => {
  it('visit the same entries in the same order as mapForEach, and an update replaces one chunk', async () => {
    const { chunkForEach, mapForEach, mapForEachChunk } = await import('./persistent-map.js');
    let map = mapFromEntries(Array.from({ length: 3000 }, (_, i) => [`key-${i}`, i] as const));
    const viaChunks: string[] = [];
    const chunks: object[] = [];
    mapForEachChunk(map, (chunk) => {
      chunks.push(chunk);
      chunkForEach(chunk, (_, key) => {
        viaChunks.push(key);
      });
    });
    const direct: string[] = [];
    mapForEach(map, (_, key) => {
      direct.push(key);
    });
    expect(viaChunks).toEqual(direct);
    expect(direct).toHaveLength(3000);

    map = mapSet(map, 'key-17', -1);
    const after: object[] = [];
    mapForEachChunk(map, (chunk) => {
      after.push(chunk);
    });
    expect(after).toHaveLength(chunks.length);
    expect(after.filter((chunk, i) => chunk !== chunks[i])).toHaveLength(1);
  });
});
