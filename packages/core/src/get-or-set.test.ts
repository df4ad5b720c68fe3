import { describe, expect, it } from 'vitest';
import { LruCache } from './lru-cache.js';
import { entryBytes } from './meter.js';
import { manualClock } from './test-clock.js';
import { deferred } from './test-deferred.js';

/** A load of 'k' (`early`, fed by `before`), a delete, then a second load (`late`, fed by `after`). */
function loadInvalidatedAndReloaded() {
  const cache = new LruCache<string>({ maxItems: 10 });
  const before = deferred<string>();
  const after = deferred<string>();
  const early = cache.getOrSet('k', () => before.promise);
  cache.delete('k');
  const late = cache.getOrSet('k', () => after.promise);
  return { cache, before, after, early, late };
}

describe('getOrSet', () => {
  it('returns a cached value without calling the loader', async () => {
    const cache = new LruCache<string>({ maxItems: 10 });
    cache.set('a', 'x');
    let calls = 0;
    await expect(cache.getOrSet('a', () => (calls++, 'y'))).resolves.toBe('x');
    expect(calls).toBe(0);
    expect(cache.stats.hits).toBe(1);
  });

  it('loads, stores with the ttl and counts a miss', async () => {
    const clock = manualClock();
    const cache = new LruCache<string>({ maxItems: 10, now: clock.now, sweepInterval: 0 });
    await expect(cache.getOrSet('a', (key) => `loaded ${key}`, { ttl: 100 })).resolves.toBe(
      'loaded a',
    );
    expect(cache.get('a')).toBe('loaded a');
    expect(cache.ttl('a')).toBe(100);
    expect(cache.stats.misses).toBe(1);
  });

  it('shares one loader call among concurrent callers', async () => {
    const cache = new LruCache<number>({ maxItems: 10 });
    const gate = deferred<number>();
    let calls = 0;
    const loader = () => {
      calls++;
      return gate.promise;
    };
    const waiters = [
      cache.getOrSet('k', loader),
      cache.getOrSet('k', loader),
      cache.getOrSet('k', loader),
    ];
    expect(calls).toBe(1);
    gate.resolve(42);
    await expect(Promise.all(waiters)).resolves.toEqual([42, 42, 42]);
    expect(cache.get('k')).toBe(42);
    // Once settled, a later miss starts a new load.
    cache.delete('k');
    await cache.getOrSet('k', () => (calls++, 7));
    expect(calls).toBe(2);
  });

  it('a rejected loader stores nothing and rejects every waiter', async () => {
    const cache = new LruCache<number>({ maxItems: 10 });
    const gate = deferred<number>();
    const a = cache.getOrSet('k', () => gate.promise);
    const b = cache.getOrSet('k', () => Promise.resolve(1));
    gate.reject(new Error('backend down'));
    await expect(a).rejects.toThrow('backend down');
    await expect(b).rejects.toThrow('backend down');
    expect(cache.has('k')).toBe(false);
    // A later call retries.
    await expect(cache.getOrSet('k', () => 5)).resolves.toBe(5);
  });

  it('a loader that throws synchronously rejects and stores nothing', async () => {
    const cache = new LruCache<number>({ maxItems: 10 });
    const p = cache.getOrSet('k', () => {
      throw new Error('sync boom');
    });
    await expect(p).rejects.toThrow('sync boom');
    expect(cache.has('k')).toBe(false);
  });

  it('a loader returning undefined resolves every waiter to it, stores nothing, and the next call loads again', async () => {
    const cache = new LruCache<string | undefined>({ maxItems: 10 });
    const gate = deferred<string | undefined>();
    const waiters = [cache.getOrSet('k', () => gate.promise), cache.getOrSet('k', () => 'unused')];
    gate.resolve(undefined); // "not found" at the source, for now
    await expect(Promise.all(waiters)).resolves.toEqual([undefined, undefined]);
    expect(cache.has('k')).toBe(false);
    expect(cache.memoryUsed).toBe(0);
    expect(cache.stats.sets).toBe(0);
    await expect(cache.getOrSet('k', () => 'found now')).resolves.toBe('found now');
    expect(cache.get('k')).toBe('found now');
  });

  it('the eviction of the key does not cancel the in-flight load', async () => {
    const cache = new LruCache<number>({ maxItems: 2 });
    const gate = deferred<number>();
    const pending = cache.getOrSet('k', () => gate.promise);
    cache.set('k', 1); // written and then evicted while the load runs
    cache.set('x', 2);
    cache.set('y', 3);
    expect(cache.has('k')).toBe(false);
    gate.resolve(9);
    await expect(pending).resolves.toBe(9);
    expect(cache.get('k')).toBe(9);
  });

  it('a delete of the key during the load keeps the loaded value out of the cache', async () => {
    const cache = new LruCache<string>({ maxItems: 10 });
    const gate = deferred<string>();
    const first = cache.getOrSet('k', () => gate.promise);
    const second = cache.getOrSet('k', () => Promise.resolve('unused'));
    expect(cache.delete('k')).toBe(false); // absent while loading: the invalidation after a write
    gate.resolve('read before the write');
    await expect(Promise.all([first, second])).resolves.toEqual([
      'read before the write',
      'read before the write',
    ]);
    expect(cache.has('k')).toBe(false);
    expect(cache.stats.sets).toBe(0);
    // The next miss loads afresh and stores.
    await expect(cache.getOrSet('k', () => 'fresh')).resolves.toBe('fresh');
    expect(cache.get('k')).toBe('fresh');
  });

  it('a set refused as too large during the load keeps the loaded value out too', async () => {
    const cache = new LruCache<string>({ maxMemory: 10_000, maxEntrySize: 1000 });
    const gate = deferred<string>();
    const loading = cache.getOrSet('k', () => gate.promise);
    expect(cache.set('k', 'written during the load')).toBeGreaterThan(0);
    // Refused: it drops the value it was to replace, and the load read what came before that.
    expect(cache.set('k', 'x'.repeat(2000))).toBeUndefined();
    gate.resolve('read before both writes');
    await expect(loading).resolves.toBe('read before both writes');
    expect(cache.has('k')).toBe(false);
  });

  it('a call after the invalidation starts a fresh load instead of joining the stale one', async () => {
    const { cache, before, after, early, late } = loadInvalidatedAndReloaded();
    const later = cache.getOrSet('k', () => Promise.resolve('unused'));
    after.resolve('read after the write');
    before.resolve('read before the write'); // settles last: still not stored
    await expect(Promise.all([early, late, later])).resolves.toEqual([
      'read before the write',
      'read after the write',
      'read after the write',
    ]);
    expect(cache.get('k')).toBe('read after the write');
  });

  it('the stale load settling first does not end the sharing of the fresh one', async () => {
    const { cache, before, after, early, late } = loadInvalidatedAndReloaded();
    before.resolve('old');
    await expect(early).resolves.toBe('old');
    let calls = 0;
    const joined = cache.getOrSet('k', () => (calls++, 'another load'));
    after.resolve('new');
    await expect(Promise.all([late, joined])).resolves.toEqual(['new', 'new']);
    expect(calls).toBe(0);
  });

  it('a clear() during the load keeps every loaded value out of the cache', async () => {
    const cache = new LruCache<string>({ maxItems: 10 });
    const a = deferred<string>();
    const b = deferred<string>();
    const pending = [cache.getOrSet('a', () => a.promise), cache.getOrSet('b', () => b.promise)];
    cache.clear();
    a.resolve('old a');
    b.resolve('old b');
    await expect(Promise.all(pending)).resolves.toEqual(['old a', 'old b']);
    expect(cache.size).toBe(0);
  });

  it('a delete or clear() made by the loader before it returns keeps its value out too', async () => {
    // A synchronous loader whose source fires an invalidation hook as it is read: the delete
    // happens during the load, just before the loader hands its (now stale) value back.
    const cache = new LruCache<string>({ maxItems: 10 });
    await expect(
      cache.getOrSet('k', () => (cache.delete('k'), 'read before the write')),
    ).resolves.toBe('read before the write');
    expect(cache.has('k')).toBe(false);
    await expect(cache.getOrSet('j', () => (cache.clear(), 'stale'))).resolves.toBe('stale');
    expect(cache.size).toBe(0);
    expect(cache.stats.sets).toBe(0);
  });

  it('a getOrSet of the key made by the loader before it returns joins the load', async () => {
    const cache = new LruCache<string>({ maxItems: 10 });
    let calls = 0;
    let joined: Promise<string> | undefined;
    const first = cache.getOrSet('k', () => {
      calls++;
      joined = cache.getOrSet('k', () => (calls++, 'second load'));
      return 'loaded';
    });
    await expect(Promise.all([first, joined])).resolves.toEqual(['loaded', 'loaded']);
    expect(calls).toBe(1);
  });

  it('a delete of another key during the load does not cancel it', async () => {
    const cache = new LruCache<string>({ maxItems: 10 });
    cache.set('other', 'x');
    const gate = deferred<string>();
    const pending = cache.getOrSet('k', () => gate.promise);
    cache.delete('other');
    cache.delete('k-not-loading');
    gate.resolve('loaded');
    await expect(pending).resolves.toBe('loaded');
    expect(cache.get('k')).toBe('loaded');
  });

  it('a write during the load wins over the loaded value', async () => {
    const cache = new LruCache<string>({ maxItems: 10 });
    const gate = deferred<string>();
    const pending = cache.getOrSet('k', () => gate.promise);
    cache.set('k', 'newer');
    gate.resolve('loaded');
    await expect(pending).resolves.toBe('loaded');
    expect(cache.get('k')).toBe('newer');
  });

  it('a loaded value too large to store is returned but refused', async () => {
    const cache = new LruCache<string>({ maxMemory: 500 });
    await expect(cache.getOrSet('k', () => 'x'.repeat(1000))).resolves.toHaveLength(1000);
    expect(cache.has('k')).toBe(false);
    expect(cache.stats.refusals).toBe(1);
  });

  it('a loaded value one byte over the limit is refused and evicts nothing', async () => {
    const cache = new LruCache<string>({ maxMemory: 1000, sizeOf: (value) => value.length });
    cache.set('a', 'small');
    const justOver = 'x'.repeat(1001 - entryBytes('k', 0));
    await expect(cache.getOrSet('k', () => justOver)).resolves.toBe(justOver);
    expect(cache.has('k')).toBe(false);
    expect(cache.get('a')).toBe('small');
    expect(cache.memoryUsed).toBe(entryBytes('a', 5));
    expect(cache.stats.refusals).toBe(1);
    // Under the two-byte key 'k2' a value two bytes shorter makes an entry of exactly maxMemory:
    // it is stored, evicting 'a' to make room.
    await expect(cache.getOrSet('k2', () => justOver.slice(2))).resolves.toHaveLength(
      justOver.length - 2,
    );
    expect(cache.has('k2')).toBe(true);
    expect(cache.has('a')).toBe(false);
  });

  it('different keys load independently', async () => {
    const cache = new LruCache<string>({ maxItems: 10 });
    const calls: string[] = [];
    await Promise.all([
      cache.getOrSet('a', (k) => (calls.push(k), k)),
      cache.getOrSet('b', (k) => (calls.push(k), k)),
    ]);
    expect(calls.sort()).toEqual(['a', 'b']);
  });
});
