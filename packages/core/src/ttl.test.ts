import { afterEach, describe, expect, it, vi } from 'vitest';
import { LruCache } from './lru-cache.js';
import { manualClock } from './test-clock.js';
import type { EvictionReason } from './types.js';

function cacheWithClock(
  options: { defaultTtl?: number; maxItems?: number; sweepInterval?: number } = {},
) {
  const clock = manualClock();
  const events: string[] = [];
  const cache = new LruCache<string>({
    maxItems: options.maxItems ?? 100,
    now: clock.now,
    sweepInterval: options.sweepInterval ?? 0,
    onEvict: (key: string, _value: string, reason: EvictionReason) =>
      events.push(`${key}:${reason}`),
    ...(options.defaultTtl === undefined ? {} : { defaultTtl: options.defaultTtl }),
  });
  return { cache, clock, events };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('ttl', () => {
  it('serves an entry until its ttl elapses, then counts a miss and an expiration', () => {
    const { cache, clock, events } = cacheWithClock();
    cache.set('a', 'x', { ttl: 100 });
    clock.advance(99);
    expect(cache.get('a')).toBe('x');
    clock.advance(1);
    expect(cache.get('a')).toBeUndefined();
    expect(cache.stats).toMatchObject({ hits: 1, misses: 1, expirations: 1, items: 0 });
    expect(cache.memoryUsed).toBe(0);
    expect(events).toEqual(['a:expire']);
  });

  it('expires an entry whose expiry time on an injected clock is exactly 0', () => {
    // 0 marks "never expires" inside the cache: a clock reading below zero (a test clock, a
    // monotonic reading minus an offset) must not turn now + ttl = 0 into that.
    const clock = manualClock(-100);
    const cache = new LruCache<string>({ maxItems: 10, now: clock.now, sweepInterval: 0 });
    cache.set('a', 'x', { ttl: 100 });
    cache.set('b', 'y', { ttl: 50 });
    cache.touch('b', 100);
    expect(cache.ttl('a')).toBe(100);
    expect(cache.dump()).toEqual([
      ['a', { value: 'x', ttl: 100, version: 1 }],
      ['b', { value: 'y', ttl: 100, version: 2 }],
    ]);
    clock.advance(99);
    expect(cache.get('a')).toBe('x');
    clock.advance(1);
    expect(cache.get('a')).toBeUndefined();
    expect(cache.has('b')).toBe(false);
    expect(cache.stats.expirations).toBe(2);
  });

  it('versionOf reports no version for an expired entry and reclaims it', () => {
    const { cache, clock, events } = cacheWithClock();
    const version = cache.set('a', 'x', { ttl: 100 });
    clock.advance(99);
    expect(cache.versionOf('a')).toBe(version);
    clock.advance(1);
    expect(cache.versionOf('a')).toBeUndefined();
    expect(cache.size).toBe(0);
    expect(events).toEqual(['a:expire']);
  });

  it('ttl 0 never expires and defaultTtl applies when no ttl is given', () => {
    const { cache, clock } = cacheWithClock({ defaultTtl: 50 });
    cache.set('default', 'x');
    cache.set('forever', 'y', { ttl: 0 });
    cache.set('own', 'z', { ttl: 500 });
    clock.advance(50);
    expect(cache.get('default')).toBeUndefined();
    expect(cache.get('forever')).toBe('y');
    expect(cache.get('own')).toBe('z');
    clock.advance(1e9);
    expect(cache.get('forever')).toBe('y');
  });

  it('ttl(key) reports remaining ms, Infinity without expiry, undefined when absent', () => {
    const { cache, clock } = cacheWithClock();
    cache.set('a', 'x', { ttl: 1000 });
    cache.set('b', 'y');
    clock.advance(300);
    expect(cache.ttl('a')).toBe(700);
    expect(cache.ttl('b')).toBe(Infinity);
    expect(cache.ttl('nope')).toBeUndefined();
    clock.advance(700);
    expect(cache.ttl('a')).toBeUndefined();
  });

  it('getEntry/peekEntry report the remaining ttl, undefined when it never expires', () => {
    const { cache, clock } = cacheWithClock();
    cache.set('a', 'x', { ttl: 1000 });
    cache.set('b', 'y');
    clock.advance(250);
    expect(cache.getEntry('a')?.ttl).toBe(750);
    expect(cache.peekEntry('b')?.ttl).toBeUndefined();
  });

  it('an entry found live reports at least 1 ms left, though the clock moved on between two readings', () => {
    // Each reading 1 ms later: the lookup sees the entry live at 99, the report is made at 100.
    let now = 0;
    const cache = new LruCache<string>({ maxItems: 10, now: () => now++, sweepInterval: 0 });
    cache.set('a', 'x', { ttl: 100 }); // read at 0: expires at 100
    now = 99;
    const entry = cache.peekEntry('a');
    expect(entry?.value).toBe('x');
    // A TTL of 0 would mean "never expires" to whoever writes this entry on.
    expect(entry?.ttl).toBe(1);
    now = 99;
    expect(cache.ttl('a')).toBe(1);
  });

  it('reports a remaining ttl of at most 2^53-1, though now + ttl rounds up past 2^53', () => {
    // 1764028800000 + (2^53 - 1) is odd and past 2^53: as a double it rounds up by one.
    const cache = new LruCache<string>({ maxItems: 1, now: () => 1_764_028_800_000 });
    cache.set('far', 'x', { ttl: Number.MAX_SAFE_INTEGER });
    expect(cache.getEntry('far')?.ttl).toBe(Number.MAX_SAFE_INTEGER);
    expect(cache.peekEntry('far')?.ttl).toBe(Number.MAX_SAFE_INTEGER);
    expect(cache.ttl('far')).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('touch resets the ttl of a present entry, 0 removes the expiry', () => {
    const { cache, clock } = cacheWithClock();
    cache.set('a', 'x', { ttl: 100 });
    clock.advance(90);
    expect(cache.touch('a', 100)).toBe(true);
    clock.advance(90);
    expect(cache.get('a')).toBe('x');
    expect(cache.touch('a', 0)).toBe(true);
    clock.advance(1e6);
    expect(cache.ttl('a')).toBe(Infinity);
    expect(cache.touch('missing', 10)).toBe(false);
  });

  it('touch can add a ttl to a cache that never used one', () => {
    const { cache, clock } = cacheWithClock();
    cache.set('a', 'x');
    expect(cache.touch('a', 10)).toBe(true);
    clock.advance(10);
    expect(cache.has('a')).toBe(false);
  });

  it('touch on an expired entry returns false', () => {
    const { cache, clock } = cacheWithClock();
    cache.set('a', 'x', { ttl: 10 });
    clock.advance(10);
    expect(cache.touch('a', 100)).toBe(false);
  });

  it('never returns an expired value from any read', () => {
    const { cache, clock } = cacheWithClock();
    for (const k of ['a', 'b', 'c', 'd', 'e']) cache.set(k, k, { ttl: 10 });
    clock.advance(10);
    expect(cache.peek('a')).toBeUndefined();
    expect(cache.has('b')).toBe(false);
    expect(cache.getEntry('c')).toBeUndefined();
    expect(cache.peekEntry('d')).toBeUndefined();
    expect([...cache.keys()]).toEqual([]);
    expect(cache.get('e')).toBeUndefined();
  });

  it('reclaims expired entries on writes without anyone reading them', () => {
    const { cache, clock } = cacheWithClock({ maxItems: 1000 });
    for (let i = 0; i < 100; i++) cache.set(`old${i}`, 'v', { ttl: 10 });
    clock.advance(10);
    // Each insertion sweeps a couple of slots: 100 writes cover the 100 expired ones.
    for (let i = 0; i < 100; i++) cache.set(`new${i}`, 'v');
    expect(cache.size).toBe(100);
    expect(cache.stats.expirations).toBe(100);
  });

  it("reclaims expired entries from an unref'd background timer", () => {
    vi.useFakeTimers();
    const { cache, clock, events } = cacheWithClock({ sweepInterval: 1000 });
    cache.set('a', 'x', { ttl: 10 });
    cache.set('b', 'y');
    clock.advance(10);
    expect(cache.size).toBe(2);
    vi.advanceTimersByTime(1000);
    expect(cache.size).toBe(1);
    expect(events).toEqual(['a:expire']);
    expect(cache.memoryUsed).toBeGreaterThan(0);
  });

  it('a throwing onEvict during the background sweep becomes a warning, not a crash', () => {
    vi.useFakeTimers();
    const clock = manualClock();
    const emit = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      const cache = new LruCache<string>({
        maxItems: 10,
        now: clock.now,
        onEvict: () => {
          throw new Error('dispose failed');
        },
      });
      cache.set('a', 'x', { ttl: 10 });
      clock.advance(10);
      expect(() => vi.advanceTimersByTime(1000)).not.toThrow();
      expect(cache.size).toBe(0);
      expect(String(emit.mock.calls[0]?.[0])).toMatch(/onEvict threw.*dispose failed/);
    } finally {
      emit.mockRestore();
    }
  });

  it('starts no timer until a ttl is used', () => {
    vi.useFakeTimers();
    const cache = new LruCache<string>({ maxItems: 10, now: manualClock().now });
    cache.set('a', 'x');
    expect(vi.getTimerCount()).toBe(0);
    cache.set('b', 'y', { ttl: 5 });
    expect(vi.getTimerCount()).toBe(1);
  });

  it('purgeExpired reclaims everything expired at once', () => {
    const { cache, clock } = cacheWithClock({ maxItems: 1000 });
    for (let i = 0; i < 500; i++) cache.set(`k${i}`, 'v', { ttl: i % 2 === 0 ? 10 : 0 });
    clock.advance(10);
    expect(cache.purgeExpired()).toBe(250);
    expect(cache.size).toBe(250);
    expect(cache.purgeExpired()).toBe(0);
  });

  it('evicting an expired tail entry is reported as an expiration', () => {
    const { cache, clock, events } = cacheWithClock({ maxItems: 2 });
    cache.set('a', 'x', { ttl: 5 });
    cache.set('b', 'y');
    clock.advance(5);
    cache.set('c', 'z');
    expect(events).toContain('a:expire');
    expect(cache.stats.evictions).toBe(0);
  });

  it('overwriting an expired entry reports expire, not overwrite', () => {
    const { cache, clock, events } = cacheWithClock();
    cache.set('a', 'x', { ttl: 5 });
    clock.advance(5);
    cache.set('a', 'y');
    expect(events).toEqual(['a:expire']);
    expect(cache.get('a')).toBe('y');
  });
});
