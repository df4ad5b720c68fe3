import { describe, expect, it } from 'vitest';
import { LruCache } from './lru-cache.js';
import { manualClock } from './test-clock.js';

type Cache = LruCache<number>;

/** The four ways to iterate, each reduced to the keys and values it yields. */
const iterations: [string, (cache: Cache) => Iterator<[string | undefined, number | undefined]>][] =
  [
    ['keys()', (cache) => map(cache.keys(), (key) => [key, cache.peek(key)])],
    ['values()', (cache) => map(cache.values(), (value) => [undefined, value])],
    ['entries()', (cache) => cache.entries()],
    ['[Symbol.iterator]', (cache) => cache[Symbol.iterator]()],
  ];

function* map<T, R>(items: Iterator<T>, f: (item: T) => R): Generator<R> {
  for (let step = items.next(); step.done !== true; step = items.next()) yield f(step.value);
}

/**
 * Runs a loop over `cache`, calling `body` with each yielded key/value; stops after `limit` steps
 * so that a broken iterator fails the test instead of hanging it.
 */
function drive(
  iterator: Iterator<[string | undefined, number | undefined]>,
  body: (key: string | undefined, value: number | undefined, index: number) => void,
  limit = 100,
): [string | undefined, number | undefined][] {
  const seen: [string | undefined, number | undefined][] = [];
  for (let step = iterator.next(); step.done !== true; step = iterator.next()) {
    seen.push(step.value);
    if (seen.length > limit) throw new Error(`iteration did not end after ${limit} steps`);
    body(step.value[0], step.value[1], seen.length - 1);
  }
  return seen;
}

function filled(keys: string[], maxItems = 10): Cache {
  const cache = new LruCache<number>({ maxItems });
  keys.forEach((key, i) => cache.set(key, i));
  return cache;
}

describe.each(iterations)('changing the cache while iterating with %s', (_, iterate) => {
  it('ends after clear() instead of yielding undefined for ever', () => {
    const cache = filled(['a', 'b', 'c']);
    const seen = drive(iterate(cache), () => cache.clear());
    expect(seen).toHaveLength(1);
    expect(seen[0]![1]).toBe(2); // c, the most recently used
  });

  it('ends after clear() even when the loop writes keys it had yet to visit', () => {
    const cache = filled(['a', 'b', 'c']);
    const seen = drive(iterate(cache), () => {
      cache.clear();
      cache.set('a', 9); // a key of the old contents, written after the clear
    });
    expect(seen).toHaveLength(1);
  });

  it('ends after load(), which clears first', () => {
    const cache = filled(['a', 'b', 'c']);
    const snapshot = cache.dump();
    const seen = drive(iterate(cache), () => cache.load(snapshot));
    expect(seen).toHaveLength(1);
  });

  it('skips the next key when the loop deletes it', () => {
    const cache = filled(['a', 'b', 'c']); // MRU → LRU: c, b, a
    const seen = drive(iterate(cache), (_key, _value, i) => {
      if (i === 0) cache.delete('b');
    });
    expect(seen.map(([, value]) => value)).toEqual([2, 0]);
  });

  it('yields each remaining key once, with its current value, when sets evict and reuse slots', () => {
    const cache = filled(['a', 'b', 'c', 'd'], 4); // MRU → LRU: d, c, b, a
    const seen = drive(iterate(cache), (_key, _value, i) => {
      if (i !== 0) return;
      cache.set('c', 20); // promotes c, so a and b are the LRU end
      cache.set('e', 4); // evicts a, reusing its slot
      cache.set('f', 5); // evicts b, reusing its slot
    });
    expect(seen.map(([, value]) => value)).toEqual([3, 20]);
  });

  it('skips a key that expires while the loop runs', () => {
    const clock = manualClock();
    const cache = new LruCache<number>({ maxItems: 10, now: clock.now, sweepInterval: 0 });
    cache.set('short', 0, { ttl: 10 });
    cache.set('long', 1, { ttl: 1_000 });
    const seen = drive(iterate(cache), () => clock.advance(50));
    expect(seen.map(([, value]) => value)).toEqual([1]);
  });

  it('does not visit keys added during the loop', () => {
    const cache = filled(['a', 'b']);
    const seen = drive(iterate(cache), (_key, _value, i) => cache.set(`new${i}`, 100 + i));
    expect(seen.map(([, value]) => value)).toEqual([1, 0]);
    expect(cache.size).toBe(4);
  });
});

describe('iteration under random changes', () => {
  it('always ends and yields only keys present at that moment, each at most once', () => {
    let seed = 7;
    const random = (n: number) => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed % n;
    };
    for (let round = 0; round < 200; round++) {
      const cache = new LruCache<number>({ maxItems: 6 });
      for (let i = 0; i < 6; i++) cache.set(`k${random(10)}`, i);
      const yielded = new Set<string>();
      for (const [key, value] of cache) {
        expect(typeof key).toBe('string');
        expect(cache.peek(key)).toBe(value);
        expect(yielded.has(key)).toBe(false);
        yielded.add(key);
        const op = random(4);
        const other = `k${random(10)}`;
        if (op === 0) cache.delete(other);
        else if (op === 1) cache.set(other, round);
        else if (op === 2) cache.get(other);
        else if (random(8) === 0) cache.clear();
      }
      expect(yielded.size).toBeLessThanOrEqual(6);
    }
  });
});
