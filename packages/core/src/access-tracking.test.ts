import { describe, expect, it } from 'vitest';
import { LruCache } from './lru-cache.js';
import { manualClock } from './test-clock.js';

function tracked(maxItems = 100) {
  const clock = manualClock();
  const cache = new LruCache<string>({ maxItems, now: clock.now, trackAccess: true });
  return { cache, clock };
}

describe('trackAccess', () => {
  it('reports read-since-write and idle time as they were before the read', () => {
    const { cache, clock } = tracked();
    cache.set('a', 'x');
    clock.advance(1500);
    expect(cache.getEntry('a')).toMatchObject({ readSinceWrite: false, idleMs: 1500 });
    clock.advance(200);
    expect(cache.getEntry('a')).toMatchObject({ readSinceWrite: true, idleMs: 200 });
    expect(cache.getEntry('a')).toMatchObject({ readSinceWrite: true, idleMs: 0 });
  });

  it('peekEntry reports without recording a read', () => {
    const { cache, clock } = tracked();
    cache.set('a', 'x');
    clock.advance(300);
    expect(cache.peekEntry('a')).toMatchObject({ readSinceWrite: false, idleMs: 300 });
    clock.advance(300);
    expect(cache.peekEntry('a')).toMatchObject({ readSinceWrite: false, idleMs: 600 });
  });

  it('get, getOrSet hits and touch count as reads; peek and has do not', async () => {
    const { cache, clock } = tracked();
    for (const key of ['g', 'o', 't', 'p']) cache.set(key, key);
    clock.advance(1000);
    cache.get('g');
    await cache.getOrSet('o', () => 'never');
    cache.touch('t', 0);
    cache.peek('p');
    cache.has('p');
    clock.advance(10);
    for (const key of ['g', 'o', 't']) {
      expect(cache.peekEntry(key)).toMatchObject({ readSinceWrite: true, idleMs: 10 });
    }
    expect(cache.peekEntry('p')).toMatchObject({ readSinceWrite: false, idleMs: 1010 });
  });

  it('a write starts a fresh record, unless it asks to keep it (an in-place update)', () => {
    const { cache, clock } = tracked();
    cache.set('a', 'x');
    cache.get('a');
    clock.advance(50);
    cache.set('a', 'y', { keepAccess: true });
    clock.advance(50);
    expect(cache.peekEntry('a')).toMatchObject({ readSinceWrite: true, idleMs: 100 });
    const { version } = cache.peekEntry('a')!;
    expect(cache.compareAndSet('a', 'z', version, { keepAccess: true })).toBe('stored');
    expect(cache.replace('a', 'w', { keepAccess: true })).toBe(cache.lastVersion);
    expect(cache.peekEntry('a')).toMatchObject({ readSinceWrite: true, idleMs: 100 });
    cache.set('a', 'v');
    expect(cache.peekEntry('a')).toMatchObject({ readSinceWrite: false, idleMs: 0 });
    cache.get('a');
    cache.replace('a', 'u');
    expect(cache.peekEntry('a')).toMatchObject({ readSinceWrite: false, idleMs: 0 });
  });

  it('a touch that asks to keep the record is not a read', () => {
    const { cache, clock } = tracked();
    cache.set('a', 'x');
    clock.advance(70);
    expect(cache.touch('a', 1000, { keepAccess: true })).toBe(true);
    expect(cache.peekEntry('a')).toMatchObject({ readSinceWrite: false, idleMs: 70 });
  });

  it('a reused slot does not inherit the previous entry record', () => {
    const { cache, clock } = tracked(2);
    cache.set('a', 'x');
    cache.get('a');
    cache.delete('a');
    clock.advance(5);
    cache.set('b', 'y');
    expect(cache.peekEntry('b')).toMatchObject({ readSinceWrite: false, idleMs: 0 });
  });

  it('keeps the record per entry across growth and clear', () => {
    const { cache, clock } = tracked(10_000);
    for (let i = 0; i < 1000; i++) cache.set(`k${i}`, 'v');
    cache.get('k7');
    clock.advance(20);
    for (let i = 1000; i < 3000; i++) cache.set(`k${i}`, 'v');
    expect(cache.peekEntry('k7')).toMatchObject({ readSinceWrite: true, idleMs: 20 });
    expect(cache.peekEntry('k8')).toMatchObject({ readSinceWrite: false, idleMs: 20 });
    cache.clear();
    cache.set('k7', 'v');
    expect(cache.peekEntry('k7')).toMatchObject({ readSinceWrite: false, idleMs: 0 });
  });

  it('is off by default: entries carry no access fields', () => {
    const cache = new LruCache<string>({ maxItems: 10 });
    cache.set('a', 'x');
    cache.get('a');
    expect(cache.getEntry('a')).toEqual({ value: 'x', version: 1, ttl: undefined });
    expect(Object.keys(cache.peekEntry('a')!)).toEqual(['value', 'version', 'ttl']);
  });

  it('validates the options', () => {
    expect(() => new LruCache({ maxItems: 1, trackAccess: 'yes' as never })).toThrow(
      /trackAccess must be a boolean, got/,
    );
    const cache = new LruCache<string>({ maxItems: 1, trackAccess: true });
    expect(() => cache.set('a', 'x', { keepAccess: 1 as never })).toThrow(
      /set: keepAccess must be a boolean/,
    );
  });
});
