import { describe, expect, it } from 'vitest';
import { LruCache } from './lru-cache.js';
import { ENTRY_OVERHEAD } from './meter.js';
import { STRING_HEADER } from './size-of.js';

describe('memory meter', () => {
  it("accounts the key's character bytes + value size + the fixed overhead", () => {
    const cache = new LruCache<string>({ maxMemory: 10_000 });
    cache.set('ké', 'hello'); // Latin-1: one byte per character
    expect(cache.memoryUsed).toBe(2 + STRING_HEADER + 5 + ENTRY_OVERHEAD);
    cache.set('ké', 'hi’'); // beyond Latin-1: two bytes for every character of the value
    expect(cache.memoryUsed).toBe(2 + STRING_HEADER + 6 + ENTRY_OVERHEAD);
    cache.set('k’', 'hi'); // and of a key
    expect(cache.memoryUsed).toBe(
      2 + STRING_HEADER + 6 + ENTRY_OVERHEAD + 4 + STRING_HEADER + 2 + ENTRY_OVERHEAD,
    );
    cache.delete('ké');
    cache.delete('k’');
    expect(cache.memoryUsed).toBe(0);
  });

  it('uses sizeOf when given', () => {
    const cache = new LruCache<string>({ maxMemory: 10_000, sizeOf: (v) => v.length * 10 });
    cache.set('k', 'abc');
    expect(cache.memoryUsed).toBe(1 + 30 + ENTRY_OVERHEAD);
  });

  it('rounds fractional sizeOf results up to whole bytes, so removals do not drift', () => {
    const cache = new LruCache<number>({ maxMemory: 10_000, sizeOf: () => 10.25 });
    for (let i = 0; i < 50; i++) cache.set(`k${i % 7}`, i);
    expect(cache.memoryUsed).toBe(7 * (2 + 11 + ENTRY_OVERHEAD));
    for (let i = 0; i < 7; i++) cache.delete(`k${i}`);
    expect(cache.memoryUsed).toBe(0);
  });

  it('evicts least recently used entries until the new entry fits', () => {
    const entry = 1 + 100 + ENTRY_OVERHEAD;
    const cache = new LruCache<number>({ maxMemory: entry * 3, sizeOf: () => 100 });
    for (const k of ['a', 'b', 'c']) cache.set(k, 0);
    cache.get('a');
    cache.set('d', 0);
    expect([...cache.keys()]).toEqual(['d', 'a', 'c']);
    expect(cache.memoryUsed).toBe(entry * 3);
  });

  it('evicts others when an overwrite grows an entry, never the entry itself', () => {
    const base = 1 + ENTRY_OVERHEAD;
    // Value 2 makes entry 'a' fill the whole limit on its own.
    const sizes = new Map<number, number>([
      [1, 100],
      [2, 300 + 2 * base],
    ]);
    const cache = new LruCache<number>({
      maxMemory: 3 * (base + 100),
      sizeOf: (v) => sizes.get(v)!,
    });
    for (const k of ['a', 'b', 'c']) cache.set(k, 1);
    cache.set('a', 2);
    expect([...cache.keys()]).toEqual(['a']);
    expect(cache.memoryUsed).toBeLessThanOrEqual(cache.maxMemory);
  });

  it('refuses an entry larger than the limit without flushing the cache', () => {
    const cache = new LruCache<string>({ maxMemory: 1000 });
    cache.set('a', 'small');
    cache.set('b', 'small');
    expect(cache.set('big', 'x'.repeat(2000))).toBeUndefined();
    expect(cache.stats.refusals).toBe(1);
    expect([...cache.keys()]).toEqual(['b', 'a']);
    expect(cache.has('big')).toBe(false);
  });

  it('maxEntrySize refuses one entry larger than it, whatever room the cache has', async () => {
    const cache = new LruCache<string>({ maxMemory: 100_000, maxEntrySize: 1000 });
    const entrySize = (key: string, value: string) => {
      const probe = new LruCache<string>({ maxMemory: 100_000 });
      probe.set(key, value);
      return probe.memoryUsed;
    };
    const fits = 'x'.repeat(1000 - entrySize('k', ''));
    expect(entrySize('k', fits)).toBe(1000);
    expect(cache.set('k', fits)).toBe(1);
    cache.set('a', 'small');
    const before = cache.memoryUsed;
    const tooBig = `${fits}x`;
    expect(cache.add('new', tooBig)).toBeUndefined();
    expect(cache.replace('a', tooBig)).toBeUndefined();
    expect(cache.compareAndSet('a', tooBig, cache.peekEntry('a')!.version)).toBe('refused');
    expect(await cache.getOrSet('loaded', () => tooBig)).toBe(tooBig); // returned, not stored
    expect(cache.stats.refusals).toBe(4);
    // Conditional writes that are refused leave the entry they would have replaced.
    expect(cache.get('k')).toBe(fits);
    expect(cache.get('a')).toBe('small');
    expect(cache.has('new') || cache.has('loaded')).toBe(false);
    expect(cache.memoryUsed).toBe(before);
  });

  it('a refused set removes the entry it was to replace, as lru-cache and memcached do', () => {
    const evicted: [string, string, string][] = [];
    const cache = new LruCache<string>({
      maxMemory: 100_000,
      maxEntrySize: 1000,
      onEvict: (key, value, reason) => void evicted.push([key, value, reason]),
    });
    cache.set('k', 'old');
    cache.set('other', 'kept');
    const version = cache.peekEntry('other')!.version;
    expect(cache.set('k', 'x'.repeat(2000))).toBeUndefined();
    expect(cache.get('k')).toBeUndefined();
    expect(evicted).toEqual([['k', 'old', 'overwrite']]);
    expect(cache.stats).toMatchObject({ refusals: 1, deletes: 0, evictions: 0 });
    expect(cache.peekEntry('other')!.version).toBe(version);
    expect(cache.size).toBe(1);
    // An absent key stays absent, and nothing is reported.
    expect(cache.set('absent', 'x'.repeat(2000))).toBeUndefined();
    expect(evicted).toHaveLength(1);
    expect(cache.stats.refusals).toBe(2);
  });

  it('maxEntrySize above maxMemory changes nothing: maxMemory still bounds an entry', () => {
    const cache = new LruCache<string>({ maxMemory: 1000, maxEntrySize: 5000 });
    expect(cache.set('big', 'x'.repeat(2000))).toBeUndefined();
    expect(cache.stats.refusals).toBe(1);
  });

  it('a set refused as larger than maxMemory removes the old value too', () => {
    const cache = new LruCache<string>({ maxMemory: 1000 });
    cache.set('a', 'old');
    cache.set('b', 'kept');
    expect(cache.set('a', 'x'.repeat(2000))).toBeUndefined();
    expect(cache.get('a')).toBeUndefined();
    expect(cache.get('b')).toBe('kept');
  });

  it('an entry exactly the size of the limit is stored alone', () => {
    const limit = 1 + 10 + ENTRY_OVERHEAD;
    const cache = new LruCache<number>({ maxMemory: limit, sizeOf: () => 10 });
    cache.set('a', 1);
    expect(cache.set('b', 2)).toBe(2);
    expect([...cache.keys()]).toEqual(['b']);
    expect(cache.memoryUsed).toBe(limit);
  });

  it('holds memory ≤ maxMemory under mixed writes', () => {
    const cache = new LruCache<string>({ maxMemory: 5000 });
    for (let i = 0; i < 2000; i++) {
      cache.set(`k${i % 97}`, 'v'.repeat((i * 37) % 400));
      expect(cache.memoryUsed).toBeLessThanOrEqual(5000);
    }
  });

  it('memory limits above 4 GiB keep exact sizes', () => {
    const cache = new LruCache<number>({ maxMemory: 2 ** 40, sizeOf: () => 2 ** 33 });
    cache.set('a', 1);
    expect(cache.memoryUsed).toBe(1 + 2 ** 33 + ENTRY_OVERHEAD);
    cache.delete('a');
    expect(cache.memoryUsed).toBe(0);
  });
});
