import { LruCache } from '@dcache/core';
import Keyv from 'keyv';
import { describe, expect, it } from 'vitest';
import { DcacheMemoryStore } from './memory-store.js';

describe('DcacheMemoryStore', () => {
  it("hands Keyv's TTL to the LruCache in whole milliseconds", () => {
    const store = new DcacheMemoryStore({ maxItems: 10 });
    expect(store.set('k', 'v', 1500.2)).toBe(true);
    expect(store.cache.ttl('k')).toBeGreaterThan(1000);
    expect(store.cache.ttl('k')).toBeLessThanOrEqual(1501);
    store.set('forever', 'v');
    expect(store.cache.ttl('forever')).toBe(Infinity);
    // As the cluster store reads them (ttl.ts): Infinity never expires, NaN sets none.
    expect(store.set('infinite', 'v', Infinity)).toBe(true);
    expect(store.cache.ttl('infinite')).toBe(Infinity);
    expect(store.set('nan', 'v', Number.NaN)).toBe(true);
    expect(store.cache.ttl('nan')).toBe(Infinity);
  });

  it('clears its namespace only, and everything without one', async () => {
    const cache = new LruCache<unknown>({ maxItems: 10 });
    const a = new Keyv({ store: new DcacheMemoryStore(cache), namespace: 'a' });
    const b = new Keyv({ store: new DcacheMemoryStore(cache), namespace: 'b' });
    await a.set('k', 1);
    await b.set('k', 2);
    cache.set('plain', 3);
    await a.clear();
    expect([...cache.keys()].sort()).toEqual(['b:k', 'plain']);
    const all = new DcacheMemoryStore(cache);
    all.clear();
    expect(cache.size).toBe(0);
  });

  it("with Keyv's useKeyPrefix: false, clear() empties the cache, as Keyv's Map store does", async () => {
    const store = new DcacheMemoryStore({ maxItems: 10 });
    const keyv = new Keyv({ store, useKeyPrefix: false });
    const withMap = new Keyv({ store: new Map(), useKeyPrefix: false });
    for (const k of [keyv, withMap]) {
      await k.set('a', 1);
      await k.set('b', 2);
    }
    // Keyv still names the store's namespace, yet hands over bare keys.
    expect(store.namespace).toBe('keyv');
    expect([...store.cache.keys()].sort()).toEqual(['a', 'b']);
    await keyv.clear();
    await withMap.clear();
    expect([await keyv.get('a'), await keyv.get('b'), store.cache.size]).toEqual([
      undefined,
      undefined,
      0,
    ]);
    expect(await withMap.get('a')).toBeUndefined();
  });

  it('a store that only reads bare keys clears them too', async () => {
    const cache = new LruCache<unknown>({ maxItems: 10 });
    await new Keyv({ store: new DcacheMemoryStore(cache), useKeyPrefix: false }).set('a', 1);
    const keyv = new Keyv({ store: new DcacheMemoryStore(cache), useKeyPrefix: false });
    expect(await keyv.get('a')).toBe(1);
    await keyv.clear();
    expect(cache.size).toBe(0);
  });

  it('answers false when the cache refuses an entry, which Keyv returns', async () => {
    const keyv = new Keyv({ store: new DcacheMemoryStore({ maxMemory: 4096, maxEntrySize: 512 }) });
    expect(await keyv.set('big', 'x'.repeat(1000))).toBe(false);
    expect(await keyv.get('big')).toBeUndefined();
  });

  it("refuses an unbounded cache with @dcache/core's error", () => {
    expect(() => new DcacheMemoryStore({})).toThrow(/unbounded cache is refused/);
  });
});
