import { describe, expect, it } from 'vitest';
import { LruCache } from './lru-cache.js';
import type { LruCacheOptions } from './types.js';

const make = (options: unknown) => () => new LruCache(options as LruCacheOptions<unknown>);

describe('options', () => {
  it.each<[string, unknown, typeof TypeError | typeof RangeError, RegExp]>([
    ['not an object', 5, TypeError, /options must be an object/],
    ['null', null, TypeError, /options must be an object/],
    ['unbounded', {}, TypeError, /unbounded cache is refused/],
    ['only a ttl', { defaultTtl: 10 }, TypeError, /unbounded/],
    ['maxMemory 0', { maxMemory: 0 }, RangeError, /maxMemory/],
    ['maxMemory negative', { maxMemory: -5 }, RangeError, /maxMemory/],
    ['maxMemory NaN', { maxMemory: NaN }, RangeError, /maxMemory/],
    ['maxMemory Infinity', { maxMemory: Infinity }, RangeError, /maxMemory/],
    ['maxMemory a string', { maxMemory: '1mb' }, TypeError, /maxMemory/],
    ['maxEntrySize 0', { maxItems: 1, maxEntrySize: 0 }, RangeError, /maxEntrySize/],
    ['maxEntrySize NaN', { maxItems: 1, maxEntrySize: NaN }, RangeError, /maxEntrySize/],
    ['maxEntrySize a string', { maxItems: 1, maxEntrySize: '1kb' }, TypeError, /maxEntrySize/],
    ['maxEntrySize alone', { maxEntrySize: 100 }, TypeError, /unbounded/],
    ['maxItems 0', { maxItems: 0 }, RangeError, /maxItems/],
    ['maxItems fractional', { maxItems: 1.5 }, RangeError, /maxItems/],
    ['maxItems a string', { maxItems: '10' }, TypeError, /maxItems/],
    ['defaultTtl negative', { maxItems: 1, defaultTtl: -1 }, RangeError, /defaultTtl/],
    ['defaultTtl NaN', { maxItems: 1, defaultTtl: NaN }, RangeError, /defaultTtl/],
    ['defaultTtl Infinity', { maxItems: 1, defaultTtl: Infinity }, RangeError, /defaultTtl/],
    ['sizeOf not a function', { maxItems: 1, sizeOf: 5 }, TypeError, /sizeOf/],
    ['onEvict not a function', { maxItems: 1, onEvict: 'x' }, TypeError, /onEvict/],
    ['now not a function', { maxItems: 1, now: 1 }, TypeError, /now/],
    ['sweepInterval negative', { maxItems: 1, sweepInterval: -1 }, RangeError, /sweepInterval/],
    // Node cannot hold a longer timer: it would warn and sweep every 1 ms instead.
    [
      'sweepInterval past a timer',
      { maxItems: 1, sweepInterval: 2 ** 31 },
      RangeError,
      /sweepInterval/,
    ],
    ['an unknown option', { maxItems: 1, maxSize: 10 }, TypeError, /unknown option "maxSize"/],
  ])('rejects %s', (_name, options, type, message) => {
    expect(make(options)).toThrow(type);
    expect(make(options)).toThrow(message);
  });

  it('accepts either bound alone or both', () => {
    expect(new LruCache({ maxItems: 1 }).maxItems).toBe(1);
    expect(new LruCache({ maxMemory: 1000 }).maxMemory).toBe(1000);
    const both = new LruCache({ maxItems: 5, maxMemory: 1000 });
    expect([both.maxItems, both.maxMemory]).toEqual([5, 1000]);
  });

  it('a huge maxItems costs nothing up front', () => {
    const cache = new LruCache<number>({ maxItems: 10_000_000 });
    cache.set('a', 1);
    expect(cache.get('a')).toBe(1);
  });
});
