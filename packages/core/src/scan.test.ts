import { describe, expect, it } from 'vitest';
import { LruCache } from './lru-cache.js';

function drain(cache: LruCache<number>, limit: number, between?: () => void): string[] {
  const seen: string[] = [];
  let cursor: number | undefined = 0;
  while (cursor !== undefined) {
    const page = cache.scan(cursor, limit);
    expect(page.entries.length).toBeLessThanOrEqual(limit);
    for (const [key] of page.entries) seen.push(key);
    cursor = page.next;
    between?.();
  }
  return seen;
}

describe('scan', () => {
  it('returns every entry once, in pages of at most limit', () => {
    const cache = new LruCache<number>({ maxItems: 10_000 });
    for (let i = 0; i < 2500; i++) cache.set(`k${i}`, i);
    const seen = drain(cache, 100);
    expect(seen).toHaveLength(2500);
    expect(new Set(seen).size).toBe(2500);
  });

  it('an entry present for the whole scan is returned exactly once, whatever changes meanwhile', () => {
    const cache = new LruCache<number>({ maxItems: 10_000 });
    for (let i = 0; i < 1000; i++) cache.set(`k${i}`, i);
    let n = 0;
    const seen = drain(cache, 50, () => {
      // Churn between pages: deletes, rewrites, reads and new keys.
      cache.delete(`k${(n * 37) % 1000}`);
      cache.set(`k${(n * 53) % 1000}`, -1);
      cache.get(`k${(n * 11) % 1000}`);
      cache.set(`new${n++}`, 0);
    });
    const survivors = [...cache.keys()].filter((key) => key.startsWith('k'));
    for (const key of survivors) expect(seen.filter((k) => k === key)).toHaveLength(1);
  });

  it('skips expired entries, and changes nothing (no hit, no promotion)', () => {
    let now = 0;
    const cache = new LruCache<number>({ maxItems: 100, now: () => now });
    cache.set('short', 1, { ttl: 10 });
    cache.set('long', 2);
    now = 20;
    expect(cache.scan(0, 10).entries.map(([key]) => key)).toEqual(['long']);
    expect(cache.stats).toMatchObject({ hits: 0, misses: 0 });
    expect(() => cache.scan(-1, 10)).toThrow(RangeError);
    expect(() => cache.scan(0, 0)).toThrow(RangeError);
  });
});
