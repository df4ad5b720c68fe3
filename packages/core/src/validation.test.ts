import { describe, expect, it } from 'vitest';
import { LruCache } from './lru-cache.js';

type Call = (cache: LruCache<unknown>) => unknown;
const bad = <T>(value: unknown) => value as T;

function populated(): LruCache<unknown> {
  const cache = new LruCache<unknown>({ maxItems: 10 });
  cache.set('a', 1);
  cache.set('b', 'two', { ttl: 10_000 });
  return cache;
}

function snapshot(cache: LruCache<unknown>) {
  const { hits, misses, sets, deletes, items, memoryUsed } = cache.stats;
  return { entries: [...cache.entries()], hits, misses, sets, deletes, items, memoryUsed };
}

const badKeys: [string, unknown][] = [
  ['number', 1],
  ['undefined', undefined],
  ['null', null],
  ['object', {}],
  ['symbol', Symbol('k')],
];

const keyed: [string, (key: string) => Call][] = [
  ['get', (k) => (c) => c.get(k)],
  ['getEntry', (k) => (c) => c.getEntry(k)],
  ['peek', (k) => (c) => c.peek(k)],
  ['peekEntry', (k) => (c) => c.peekEntry(k)],
  ['has', (k) => (c) => c.has(k)],
  ['ttl', (k) => (c) => c.ttl(k)],
  ['set', (k) => (c) => c.set(k, 1)],
  ['add', (k) => (c) => c.add(k, 1)],
  ['replace', (k) => (c) => c.replace(k, 1)],
  ['compareAndSet', (k) => (c) => c.compareAndSet(k, 1, 1)],
  ['incr', (k) => (c) => c.incr(k)],
  ['decr', (k) => (c) => c.decr(k)],
  ['touch', (k) => (c) => c.touch(k, 10)],
  ['delete', (k) => (c) => c.delete(k)],
  ['getOrSet', (k) => (c) => c.getOrSet(k, () => 1)],
];

describe('bad keys', () => {
  for (const [method, call] of keyed) {
    it.each(badKeys)(
      `${method} rejects a %s key with a TypeError and changes nothing`,
      (_name, key) => {
        const cache = populated();
        const before = snapshot(cache);
        expect(() => call(bad<string>(key))(cache)).toThrow(TypeError);
        expect(() => call(bad<string>(key))(cache)).toThrow(`${method}: key must be a string`);
        expect(snapshot(cache)).toEqual(before);
      },
    );
  }
});

const badTtls: [string, unknown, typeof TypeError | typeof RangeError][] = [
  ['NaN', NaN, RangeError],
  ['negative', -1, RangeError],
  ['Infinity', Infinity, RangeError],
  ['-Infinity', -Infinity, RangeError],
  ['a string', '10', TypeError],
  ['null', null, TypeError],
];

const ttlCalls: [string, (ttl: number) => Call][] = [
  ['set', (ttl) => (c) => c.set('a', 9, { ttl })],
  ['add', (ttl) => (c) => c.add('new', 9, { ttl })],
  ['replace', (ttl) => (c) => c.replace('a', 9, { ttl })],
  ['compareAndSet', (ttl) => (c) => c.compareAndSet('a', 9, c.peekEntry('a')!.version, { ttl })],
  ['touch', (ttl) => (c) => c.touch('a', ttl)],
  ['getOrSet', (ttl) => (c) => c.getOrSet('new', () => 9, { ttl })],
];

describe('bad ttls', () => {
  for (const [method, call] of ttlCalls) {
    it.each(badTtls)(
      `${method} rejects a %s ttl naming it and changes nothing`,
      (_name, ttl, type) => {
        const cache = populated();
        const before = snapshot(cache);
        expect(() => call(bad<number>(ttl))(cache)).toThrow(type);
        expect(() => call(bad<number>(ttl))(cache)).toThrow(/ttl/);
        expect(snapshot(cache)).toEqual(before);
      },
    );
  }
});

describe('other bad arguments', () => {
  it.each<[string, Call, typeof TypeError | typeof RangeError, RegExp]>([
    [
      'set options not an object',
      (c) => c.set('a', 1, bad(5)),
      TypeError,
      /options must be an object/,
    ],
    [
      'compareAndSet version not a number',
      (c) => c.compareAndSet('a', 1, bad('1')),
      TypeError,
      /version/,
    ],
    ['compareAndSet version NaN', (c) => c.compareAndSet('a', 1, NaN), RangeError, /version/],
    ['compareAndSet version negative', (c) => c.compareAndSet('a', 1, -1), RangeError, /version/],
    [
      'compareAndSet version fractional',
      (c) => c.compareAndSet('a', 1, 1.5),
      RangeError,
      /version/,
    ],
    [
      'compareAndSet version Infinity',
      (c) => c.compareAndSet('a', 1, Infinity),
      RangeError,
      /version/,
    ],
    ['incr delta not a number', (c) => c.incr('a', bad('2')), TypeError, /delta/],
    ['incr delta NaN', (c) => c.incr('a', NaN), RangeError, /delta/],
    ['decr delta Infinity', (c) => c.decr('a', Infinity), RangeError, /delta/],
    ['getOrSet loader not a function', (c) => c.getOrSet('z', bad(5)), TypeError, /loader/],
  ])('%s', (_name, call, type, message) => {
    const cache = populated();
    const before = snapshot(cache);
    expect(() => call(cache)).toThrow(type);
    expect(() => call(cache)).toThrow(message);
    expect(snapshot(cache)).toEqual(before);
  });

  it.each<[string, unknown]>([
    ['negative', -1],
    ['NaN', NaN],
    ['Infinity', Infinity],
    ['a string', '10'],
  ])('a sizeOf returning %s throws naming sizeOf and stores nothing', (_name, result) => {
    const cache = new LruCache<number>({
      maxItems: 10,
      sizeOf: (v) => (v === 1 ? 8 : bad<number>(result)),
    });
    cache.set('a', 1);
    const before = [...cache.entries()];
    const memory = cache.memoryUsed;
    expect(() => cache.set('a', 2)).toThrow(/sizeOf must return a finite number/);
    expect(() => cache.set('b', 2)).toThrow(TypeError);
    expect([...cache.entries()]).toEqual(before);
    expect(cache.memoryUsed).toBe(memory);
  });
});
