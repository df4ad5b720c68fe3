import { describe, expect, it } from 'vitest';
import { LruCache } from './lru-cache.js';

const small = () => new LruCache<number>({ maxItems: 3 });

describe('basics', () => {
  it('stores, reads, overwrites and deletes', () => {
    const cache = new LruCache<string>({ maxItems: 10 });
    expect(cache.get('a')).toBeUndefined();
    expect(cache.set('a', 'x')).toBe(1);
    expect(cache.get('a')).toBe('x');
    expect(cache.has('a')).toBe(true);
    expect(cache.set('a', 'y')).toBe(2);
    expect(cache.getEntry('a')?.version).toBe(2);
    expect(cache.get('a')).toBe('y');
    expect(cache.size).toBe(1);
    expect(cache.delete('a')).toBe(true);
    expect(cache.delete('a')).toBe(false);
    expect(cache.has('a')).toBe(false);
    expect(cache.size).toBe(0);
    expect(cache.memoryUsed).toBe(0);
  });

  it('keeps the empty string as a key and falsy values as values', () => {
    const cache = new LruCache<unknown>({ maxItems: 10 });
    cache.set('', 0);
    cache.set('null', null);
    cache.set('false', false);
    expect(cache.get('')).toBe(0);
    expect(cache.has('null')).toBe(true);
    expect(cache.get('null')).toBeNull();
    expect(cache.get('false')).toBe(false);
  });

  it('clear removes everything and the cache stays usable', () => {
    const cache = small();
    cache.set('a', 1);
    cache.set('b', 2);
    cache.clear();
    expect(cache.size).toBe(0);
    expect(cache.memoryUsed).toBe(0);
    expect([...cache.keys()]).toEqual([]);
    cache.set('c', 3);
    expect(cache.get('c')).toBe(3);
  });
});

describe('LRU order', () => {
  it('iterates keys, values and entries from most to least recently used', () => {
    const cache = small();
    cache.set('a', 1);
    cache.set('b', 2);
    cache.set('c', 3);
    expect([...cache.keys()]).toEqual(['c', 'b', 'a']);
    cache.get('a');
    expect([...cache.keys()]).toEqual(['a', 'c', 'b']);
    expect([...cache.values()]).toEqual([1, 3, 2]);
    expect([...cache.entries()]).toEqual([
      ['a', 1],
      ['c', 3],
      ['b', 2],
    ]);
    expect([...cache]).toEqual([...cache.entries()]);
  });

  it('set promotes, peek and has do not', () => {
    const cache = small();
    cache.set('a', 1);
    cache.set('b', 2);
    cache.set('c', 3);
    cache.set('a', 10);
    expect([...cache.keys()]).toEqual(['a', 'c', 'b']);
    expect(cache.peek('b')).toBe(2);
    expect(cache.has('b')).toBe(true);
    expect(cache.peekEntry('b')?.value).toBe(2);
    expect([...cache.keys()]).toEqual(['a', 'c', 'b']);
  });

  it('versionOf reads what peekEntry reads, without promoting or counting', () => {
    const cache = small();
    cache.set('a', 1);
    cache.set('b', 2);
    cache.set('a', 3);
    expect(cache.versionOf('a')).toBe(cache.peekEntry('a')?.version);
    expect(cache.versionOf('a')).toBe(3);
    expect(cache.versionOf('b')).toBe(2);
    expect(cache.versionOf('absent')).toBeUndefined();
    expect([...cache.keys()]).toEqual(['a', 'b']);
    cache.versionOf('b');
    expect([...cache.keys()]).toEqual(['a', 'b']);
    expect(cache.stats).toMatchObject({ hits: 0, misses: 0 });
    expect(() => cache.versionOf(7 as unknown as string)).toThrow(TypeError);
  });

  it('evicts the least recently used entry when maxItems is reached', () => {
    const evicted: string[] = [];
    const cache = new LruCache<number>({
      maxItems: 3,
      onEvict: (key, _value, reason) => evicted.push(`${key}:${reason}`),
    });
    cache.set('a', 1);
    cache.set('b', 2);
    cache.set('c', 3);
    cache.get('a');
    cache.set('d', 4);
    expect(cache.has('b')).toBe(false);
    expect([...cache.keys()]).toEqual(['d', 'a', 'c']);
    expect(evicted).toEqual(['b:evict']);
    expect(cache.stats.evictions).toBe(1);
  });

  it('reuses freed slots and grows storage past the initial capacity', () => {
    const cache = new LruCache<number>({ maxItems: 1000 });
    for (let i = 0; i < 1000; i++) cache.set(`k${i}`, i);
    for (let i = 0; i < 1000; i += 2) cache.delete(`k${i}`);
    for (let i = 0; i < 500; i++) cache.set(`n${i}`, i);
    expect(cache.size).toBe(1000);
    expect(cache.get('k1')).toBe(1);
    expect(cache.get('n499')).toBe(499);
    cache.set('overflow', -1);
    expect(cache.size).toBe(1000);
    // k3 is now the least recently used (k1 was read)
    expect(cache.has('k3')).toBe(false);
  });
});

describe('iteration', () => {
  it('is empty on an empty cache and yields a single entry', () => {
    const cache = small();
    expect([...cache]).toEqual([]);
    cache.set('x', 1);
    expect([...cache]).toEqual([['x', 1]]);
  });
});
