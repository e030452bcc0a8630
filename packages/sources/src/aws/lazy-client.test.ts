import { describe, expect, it } from 'vitest';
import { lazyClient } from './lazy-client.js';

/** A stand-in client counting its destroy() calls, and a `create` counting its calls. */
function counted(fail: (call: number) => boolean = () => false) {
  const built: { destroyed: number }[] = [];
  let calls = 0;
  const create = async () => {
    calls++;
    // Resolved on a later turn, as a dynamic import is.
    await new Promise((resolve) => setImmediate(resolve));
    if (fail(calls)) throw new Error(`cannot load (call ${calls})`);
    const client = {
      destroyed: 0,
      destroy() {
        this.destroyed++;
      },
    };
    built.push(client);
    return client;
  };
  return { create, built, calls: () => calls };
}

describe('lazyClient', () => {
  it('builds nothing until the first call, then once for every caller, concurrent or later', async () => {
    const c = counted();
    const holder = lazyClient(c.create);
    expect(c.calls()).toBe(0);
    const [a, b] = await Promise.all([holder.get(), holder.get()]);
    expect(a).toBe(b);
    expect(await holder.get()).toBe(a);
    expect(c.calls()).toBe(1);
    expect(c.built).toHaveLength(1);
  });

  it('destroy() of a client never asked for builds nothing and destroys nothing', () => {
    const c = counted();
    const holder = lazyClient(c.create);
    holder.destroy();
    expect(c.calls()).toBe(0);
    expect(c.built).toEqual([]);
  });

  it('destroy() destroys the client built', async () => {
    const c = counted();
    const holder = lazyClient(c.create);
    const client = await holder.get();
    holder.destroy();
    expect(client.destroyed).toBe(1);
  });

  it('destroy() while the client is being built destroys it once built', async () => {
    const c = counted();
    const holder = lazyClient(c.create);
    const pending = holder.get();
    holder.destroy();
    const client = await pending;
    expect(client.destroyed).toBe(1);
  });

  it('a failed build fails the calls waiting on it; the next call tries again', async () => {
    const c = counted((call) => call === 1);
    const holder = lazyClient(c.create);
    const first = await Promise.allSettled([holder.get(), holder.get()]);
    expect(first.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(String((first[0] as PromiseRejectedResult).reason)).toMatch(/cannot load \(call 1\)/);
    expect(c.calls()).toBe(1);
    const client = await holder.get();
    expect(c.calls()).toBe(2);
    expect(await holder.get()).toBe(client);
  });
});
