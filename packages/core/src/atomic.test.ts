import { describe, expect, it } from 'vitest';
import { LruCache } from './lru-cache.js';
import { NotNumericError, isNotNumericError } from './errors/not-numeric-error.js';
import { isDcacheError } from './errors/dcache-error.js';
import { manualClock } from './test-clock.js';

describe('add / replace', () => {
  it('add stores only when absent and returns the version it stored', () => {
    const cache = new LruCache<string>({ maxItems: 10 });
    expect(cache.add('a', 'x')).toBe(1);
    expect(cache.add('a', 'y')).toBeUndefined();
    expect(cache.peekEntry('a')?.version).toBe(1);
    expect(cache.get('a')).toBe('x');
  });

  it('add treats an expired entry as absent', () => {
    const clock = manualClock();
    const cache = new LruCache<string>({ maxItems: 10, now: clock.now, sweepInterval: 0 });
    cache.set('a', 'x', { ttl: 10 });
    clock.advance(10);
    expect(cache.add('a', 'y')).toBe(2);
    expect(cache.get('a')).toBe('y');
  });

  it('replace stores only when present and returns the version it stored', () => {
    const cache = new LruCache<string>({ maxItems: 10 });
    expect(cache.replace('a', 'x')).toBeUndefined();
    expect(cache.has('a')).toBe(false);
    cache.set('a', 'x');
    expect(cache.replace('a', 'y', { ttl: 0 })).toBe(2);
    expect(cache.peekEntry('a')?.version).toBe(2);
    expect(cache.get('a')).toBe('y');
  });

  it('add and replace refuse entries above the limit', () => {
    const cache = new LruCache<string>({ maxMemory: 500 });
    expect(cache.add('a', 'x'.repeat(1000))).toBeUndefined();
    cache.set('b', 'small');
    expect(cache.replace('b', 'x'.repeat(1000))).toBeUndefined();
    expect(cache.get('b')).toBe('small');
    expect(cache.stats.refusals).toBe(2);
  });
});

describe('versions and compareAndSet', () => {
  it('every write gives a new, increasing version', () => {
    const cache = new LruCache<number>({ maxItems: 10 });
    const seen: number[] = [];
    cache.set('a', 1);
    seen.push(cache.peekEntry('a')!.version);
    cache.set('b', 1);
    seen.push(cache.peekEntry('b')!.version);
    cache.set('a', 2);
    seen.push(cache.peekEntry('a')!.version);
    cache.incr('a');
    seen.push(cache.peekEntry('a')!.version);
    cache.replace('a', 7);
    seen.push(cache.peekEntry('a')!.version);
    for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThan(seen[i - 1]!);
  });

  it('touch and reads keep the version', () => {
    const cache = new LruCache<number>({ maxItems: 10 });
    cache.set('a', 1);
    const { version } = cache.getEntry('a')!;
    cache.touch('a', 1000);
    cache.get('a');
    expect(cache.peekEntry('a')!.version).toBe(version);
  });

  it('a delete and re-set does not reuse a version', () => {
    const cache = new LruCache<number>({ maxItems: 10 });
    cache.set('a', 1);
    const v1 = cache.peekEntry('a')!.version;
    cache.delete('a');
    cache.set('a', 1);
    expect(cache.peekEntry('a')!.version).not.toBe(v1);
  });

  it('stores only against the current version', () => {
    const cache = new LruCache<string>({ maxItems: 10 });
    cache.set('a', 'x');
    const { version } = cache.getEntry('a')!;
    cache.set('a', 'y');
    expect(cache.compareAndSet('a', 'z', version)).toBe('exists');
    expect(cache.get('a')).toBe('y');
    const current = cache.getEntry('a')!.version;
    expect(cache.compareAndSet('a', 'z', current)).toBe('stored');
    expect(cache.get('a')).toBe('z');
    expect(cache.compareAndSet('a', 'w', current)).toBe('exists');
    expect(cache.compareAndSet('missing', 'w', current)).toBe('not_found');
  });

  it('reports refused for an oversized value and keeps the entry', () => {
    const cache = new LruCache<string>({ maxMemory: 500 });
    cache.set('a', 'x');
    const { version } = cache.getEntry('a')!;
    expect(cache.compareAndSet('a', 'y'.repeat(1000), version)).toBe('refused');
    expect(cache.get('a')).toBe('x');
  });

  it('an expired entry is not_found', () => {
    const clock = manualClock();
    const cache = new LruCache<string>({ maxItems: 10, now: clock.now, sweepInterval: 0 });
    cache.set('a', 'x', { ttl: 5 });
    const { version } = cache.getEntry('a')!;
    clock.advance(5);
    expect(cache.compareAndSet('a', 'y', version)).toBe('not_found');
  });
});

describe('incr / decr', () => {
  it('adds and subtracts, default delta 1', () => {
    const cache = new LruCache<number>({ maxItems: 10 });
    cache.set('n', 10);
    expect(cache.incr('n')).toBe(11);
    expect(cache.incr('n', 5)).toBe(16);
    expect(cache.decr('n')).toBe(15);
    expect(cache.decr('n', 20)).toBe(-5);
    expect(cache.incr('n', 0.5)).toBe(-4.5);
    expect(cache.get('n')).toBe(-4.5);
  });

  it('returns undefined for a missing key and stores nothing', () => {
    const cache = new LruCache<number>({ maxItems: 10 });
    expect(cache.incr('n')).toBeUndefined();
    expect(cache.decr('n')).toBeUndefined();
    expect(cache.has('n')).toBe(false);
  });

  it('keeps the ttl', () => {
    const clock = manualClock();
    const cache = new LruCache<number>({ maxItems: 10, now: clock.now, sweepInterval: 0 });
    cache.set('n', 1, { ttl: 100 });
    clock.advance(40);
    cache.incr('n');
    expect(cache.ttl('n')).toBe(60);
    clock.advance(60);
    expect(cache.incr('n')).toBeUndefined();
  });

  it('throws NotNumericError on a non-numeric value and leaves it', () => {
    const cache = new LruCache<unknown>({ maxItems: 10 });
    cache.set('s', '12');
    let caught: unknown;
    try {
      cache.incr('s');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(NotNumericError);
    expect(isNotNumericError(caught)).toBe(true);
    expect(isDcacheError(caught)).toBe(true);
    expect((caught as NotNumericError).key).toBe('s');
    expect((caught as NotNumericError).valueType).toBe('string');
    expect((caught as Error).name).toBe('NotNumericError');
    expect(cache.get('s')).toBe('12');
  });

  it('isDcacheError recognises a NotNumericError from another copy of the package by its name', () => {
    // Another bundle's class fails instanceof; only the name says what it is.
    const foreign = Object.assign(new Error('x'), { name: 'NotNumericError' });
    expect(isNotNumericError(foreign)).toBe(true);
    expect(isDcacheError(foreign)).toBe(true);
    expect(isDcacheError(new TypeError('x'))).toBe(false);
  });

  it('refuses a result that is not finite', () => {
    const cache = new LruCache<number>({ maxItems: 10 });
    cache.set('n', Number.MAX_VALUE);
    expect(() => cache.incr('n', Number.MAX_VALUE)).toThrow(RangeError);
    expect(cache.get('n')).toBe(Number.MAX_VALUE);
  });

  it('counts exactly up to ±MAX_SAFE_INTEGER and refuses to leave that range', () => {
    const max = Number.MAX_SAFE_INTEGER;
    const cache = new LruCache<number>({ maxItems: 10 });
    cache.set('up', max - 1);
    cache.set('down', -max + 1);
    expect(cache.incr('up')).toBe(max);
    expect(cache.decr('down')).toBe(-max);
    const version = cache.peekEntry('up')!.version;
    // 2^53 + 1 would round to 2^53: the counter would silently stop counting.
    expect(() => cache.incr('up')).toThrow(/incr: .*safe integer range/);
    expect(() => cache.decr('down')).toThrow(RangeError);
    expect(() => cache.decr('up', -2)).toThrow(RangeError);
    expect(cache.peekEntry('up')).toMatchObject({ value: max, version });
    expect(cache.get('down')).toBe(-max);
    expect(cache.decr('up')).toBe(max - 1);
  });

  it('refuses to count from a stored number beyond the safe range, leaving it', () => {
    const cache = new LruCache<number>({ maxItems: 10 });
    cache.set('big', 2 ** 53);
    cache.set('nan', NaN);
    expect(() => cache.decr('big')).toThrow(RangeError);
    expect(() => cache.incr('big', 0)).toThrow(RangeError);
    expect(() => cache.incr('nan')).toThrow(RangeError);
    expect(cache.get('big')).toBe(2 ** 53);
    expect(cache.stats.sets).toBe(2);
  });
});
