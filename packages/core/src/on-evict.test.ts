import { describe, expect, it } from 'vitest';
import { LruCache } from './lru-cache.js';
import { manualClock } from './test-clock.js';
import type { EvictionReason } from './types.js';

function recorder() {
  const events: [string, unknown, EvictionReason][] = [];
  return { events, onEvict: (k: string, v: unknown, r: EvictionReason) => events.push([k, v, r]) };
}

describe('onEvict', () => {
  it('reports overwrite with the old value, delete, and clear as delete', () => {
    const { events, onEvict } = recorder();
    const cache = new LruCache<number>({ maxItems: 10, onEvict });
    cache.set('a', 1);
    cache.set('a', 2);
    cache.delete('a');
    cache.set('b', 3);
    cache.set('c', 4);
    cache.clear();
    expect(events).toEqual([
      ['a', 1, 'overwrite'],
      ['a', 2, 'delete'],
      ['c', 4, 'delete'],
      ['b', 3, 'delete'],
    ]);
  });

  it('a write returns its own version even when onEvict writes before it returns', () => {
    // The callback runs once the write is done but before set returns, so lastVersion has moved on.
    const cache: LruCache<number> = new LruCache<number>({
      maxItems: 1,
      onEvict: (key) => {
        if (key === 'a') cache.set('log', 0);
      },
    });
    cache.set('a', 1);
    const version = cache.set('b', 2);
    expect(cache.lastVersion).toBeGreaterThan(version!);
    expect(cache.has('b')).toBe(false); // the callback's write evicted it in turn
    const other = cache.set('c', 3);
    expect(cache.peekEntry('c')?.version).toBe(other);
  });

  it('does not report overwrite when the same value is set again', () => {
    const { events, onEvict } = recorder();
    const cache = new LruCache<object>({ maxItems: 10, onEvict });
    const value = {};
    cache.set('a', value);
    cache.set('a', value);
    expect(events).toEqual([]);
  });

  it('runs after the operation, so the callback sees a consistent cache and may re-enter', () => {
    const seen: boolean[] = [];
    const cache: LruCache<number> = new LruCache<number>({
      maxItems: 1,
      onEvict: (key) => {
        seen.push(cache.has('b'), cache.has(key));
        if (key === 'a') cache.set('a-again', 0);
      },
    });
    cache.set('a', 1);
    cache.set('b', 2); // evicts a; the callback then sets a-again, evicting b
    expect(seen).toEqual([true, false, false, false]);
    expect([...cache.keys()]).toEqual(['a-again']);
  });

  it('a throwing callback does not stop the others nor corrupt the cache', () => {
    const calls: string[] = [];
    const cache = new LruCache<number>({
      maxItems: 10,
      onEvict: (key) => {
        calls.push(key);
        throw new Error(`dispose ${key} failed`);
      },
    });
    cache.set('a', 1);
    cache.set('b', 2);
    expect(() => cache.clear()).toThrow('dispose b failed');
    expect(calls).toEqual(['b', 'a']);
    expect(cache.size).toBe(0);
    cache.set('c', 3);
    expect(cache.get('c')).toBe(3);
  });

  it('getOrSet rejects, never throws, when a callback throws on an expired entry it reclaims', async () => {
    const clock = manualClock();
    const cache = new LruCache<number>({
      maxItems: 10,
      now: clock.now,
      sweepInterval: 0,
      onEvict: (key, _value, reason) => {
        throw new Error(`dispose ${key} ${reason} failed`);
      },
    });
    cache.set('k', 1, { ttl: 5 });
    clock.advance(5);
    // A promise-returning method: its caller handles failures with .catch / await.
    let result: Promise<number> | undefined;
    expect(() => {
      result = cache.getOrSet('k', () => 2);
    }).not.toThrow();
    await expect(result).rejects.toThrow('dispose k expire failed');
    expect(cache.stats).toMatchObject({ misses: 1, expirations: 1, items: 0 });
  });
});
