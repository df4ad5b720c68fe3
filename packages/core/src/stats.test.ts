import { describe, expect, it } from 'vitest';
import { LruCache } from './lru-cache.js';
import { manualClock } from './test-clock.js';

describe('stats', () => {
  it('counts every event and derives hitRate', () => {
    const clock = manualClock();
    const cache = new LruCache<string>({
      maxItems: 2,
      maxMemory: 1000,
      now: clock.now,
      sweepInterval: 0,
    });
    expect(cache.stats).toEqual({
      hits: 0,
      misses: 0,
      sets: 0,
      deletes: 0,
      evictions: 0,
      expirations: 0,
      refusals: 0,
      items: 0,
      memoryUsed: 0,
      maxMemory: 1000,
      hitRate: 0,
    });
    cache.set('a', 'x');
    cache.set('b', 'y', { ttl: 10 });
    cache.get('a');
    cache.get('a');
    cache.get('a');
    cache.get('zz');
    cache.set('c', 'z'); // evicts b
    cache.delete('c');
    cache.set('big', 'x'.repeat(2000));
    cache.set('d', 'w', { ttl: 10 });
    clock.advance(10);
    cache.get('d');
    expect(cache.stats).toMatchObject({
      hits: 3,
      misses: 2,
      sets: 4,
      deletes: 1,
      evictions: 1,
      expirations: 1,
      refusals: 1,
      items: 1,
      hitRate: 0.6,
    });
    expect(cache.stats.memoryUsed).toBe(cache.memoryUsed);
  });

  it('counts each entry clear() removes as a delete, as onEvict reports it', () => {
    const clock = manualClock();
    const reasons: string[] = [];
    const cache = new LruCache<string>({
      maxItems: 10,
      now: clock.now,
      sweepInterval: 0,
      onEvict: (_key, _value, reason) => reasons.push(reason),
    });
    cache.set('a', 'x');
    cache.set('b', 'y');
    cache.set('short', 'z', { ttl: 5 });
    cache.delete('a');
    clock.advance(5); // 'short' expires but is not reclaimed before the clear
    cache.clear();
    expect(reasons).toEqual(['delete', 'delete', 'delete']);
    expect(cache.stats).toMatchObject({ deletes: 3, expirations: 0, items: 0 });
    cache.clear();
    expect(cache.stats.deletes).toBe(3);
  });

  it('resetStats zeroes counters but not contents', () => {
    const cache = new LruCache<string>({ maxItems: 10 });
    cache.set('a', 'x');
    cache.get('a');
    cache.resetStats();
    expect(cache.stats).toMatchObject({ hits: 0, misses: 0, sets: 0, items: 1 });
    expect(cache.stats.memoryUsed).toBeGreaterThan(0);
  });

  it('maxMemory is Infinity when only maxItems bounds the cache', () => {
    expect(new LruCache({ maxItems: 1 }).stats.maxMemory).toBe(Infinity);
  });
});
