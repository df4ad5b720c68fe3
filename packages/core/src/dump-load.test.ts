import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LruCache } from './lru-cache.js';
import { ENTRY_OVERHEAD } from './meter.js';
import { manualClock } from './test-clock.js';
import type { DumpEntry, EvictionReason, LruCacheOptions } from './types.js';

type Event = [string, unknown, EvictionReason];

function setup<V>(options: Partial<LruCacheOptions<V>> = {}, start?: number) {
  const clock = manualClock(start);
  const events: Event[] = [];
  const cache = new LruCache<V>({
    maxItems: 100,
    now: clock.now,
    sweepInterval: 0,
    onEvict: (key, value, reason) => events.push([key, value, reason]),
    ...options,
  });
  return { cache, clock, events };
}

/** Everything observable without changing the cache: entries with versions and TTLs, stats. */
function observe<V>(cache: LruCache<V>) {
  const entries = [...cache.keys()].map((key) => [key, cache.peekEntry(key)] as const);
  return { entries, stats: cache.stats, size: cache.size, memoryUsed: cache.memoryUsed };
}

describe('dump', () => {
  it('lists live entries least recently used first, with the TTL left and the version', () => {
    const { cache, clock } = setup<string>();
    cache.set('a', 'A', { ttl: 1000 });
    cache.set('b', 'B');
    cache.set('c', 'C', { ttl: 500 });
    cache.get('a');
    clock.advance(300);
    expect(cache.dump()).toEqual([
      ['b', { value: 'B', version: 2 }],
      ['c', { value: 'C', ttl: 200, version: 3 }],
      ['a', { value: 'A', ttl: 700, version: 1 }],
    ]);
    expect(cache.dump().map(([key]) => key)).toEqual([...cache.keys()].reverse());
  });

  it('skips expired entries without reclaiming them', () => {
    const { cache, clock, events } = setup<string>();
    cache.set('gone', 'x', { ttl: 100 });
    cache.set('kept', 'y', { ttl: 101 });
    cache.set('forever', 'z');
    clock.advance(100);
    const before = observe(cache);
    expect(cache.dump()).toEqual([
      ['kept', { value: 'y', ttl: 1, version: 2 }],
      ['forever', { value: 'z', version: 3 }],
    ]);
    expect(cache.size).toBe(3); // the expired entry is still held: dump reclaims nothing
    expect(observe(cache)).toEqual(before);
    expect(events).toEqual([]);
  });

  it('changes no recency, stats or contents', () => {
    const { cache, events } = setup<number>({ maxItems: 3 });
    cache.set('a', 1);
    cache.set('b', 2);
    cache.set('c', 3);
    cache.get('a');
    cache.get('missing');
    const before = observe(cache);
    cache.dump();
    expect(observe(cache)).toEqual(before);
    cache.set('d', 4); // still evicts b, the least recently used before the dump
    expect(events).toEqual([['b', 2, 'evict']]);
  });

  it('is plain data: survives JSON, with no undefined property for msgpack to encode', () => {
    const { cache } = setup<unknown>();
    cache.set('obj', { n: 1, list: [1, 'two'] }, { ttl: 50 });
    cache.set('str', 'text');
    cache.set('nil', null);
    const dumped = cache.dump();
    expect(JSON.parse(JSON.stringify(dumped))).toEqual(dumped);
    for (const [, record] of dumped) {
      expect(Object.values(record)).not.toContain(undefined);
    }
    expect(Object.keys(dumped[1]![1]).sort()).toEqual(['value', 'version']);
  });

  it('hands out the stored values themselves, not copies', () => {
    const { cache } = setup<{ n: number }>();
    const value = { n: 1 };
    cache.set('a', value);
    expect(cache.dump()[0]![1].value).toBe(value);
    const target = setup<{ n: number }>().cache;
    target.load(cache.dump());
    expect(target.peek('a')).toBe(value);
  });

  it('leaves out an entry holding undefined, which load would refuse', () => {
    const { cache } = setup<number | undefined>();
    cache.set('u', undefined);
    cache.set('n', 1);
    expect(cache.dump().map(([key]) => key)).toEqual(['n']);
  });
});

describe('load', () => {
  it('restores values, TTLs left and recency in a fresh cache on another clock', () => {
    const source = setup<string>({ maxItems: 3 });
    source.cache.set('a', 'A', { ttl: 1000 });
    source.cache.set('b', 'B');
    source.cache.set('c', 'C', { ttl: 5000 });
    source.cache.get('a'); // recency now a, c, b
    source.clock.advance(400);

    const { cache, clock, events } = setup<string>({ maxItems: 3 }, 5_000_000);
    cache.load(source.cache.dump());
    expect([...cache.entries()]).toEqual([
      ['a', 'A'],
      ['c', 'C'],
      ['b', 'B'],
    ]);
    expect(cache.ttl('a')).toBe(600);
    expect(cache.ttl('c')).toBe(4600);
    expect(cache.ttl('b')).toBe(Infinity);
    expect(cache.stats).toMatchObject({ sets: 3, hits: 0, misses: 0, items: 3 });
    expect(cache.memoryUsed).toBe(source.cache.memoryUsed);

    cache.set('d', 'D'); // b was the least recently used in the source: it goes first
    cache.set('e', 'E');
    expect(events).toEqual([
      ['b', 'B', 'evict'],
      ['c', 'C', 'evict'],
    ]);
    clock.advance(599);
    expect(cache.get('a')).toBe('A');
    clock.advance(1);
    expect(cache.get('a')).toBeUndefined();
  });

  it('clears first, reporting the old entries as deletes once the load is done', () => {
    const seen: string[][] = [];
    const clock = manualClock();
    const cache: LruCache<number> = new LruCache<number>({
      maxItems: 10,
      now: clock.now,
      sweepInterval: 0,
      onEvict: (key, _value, reason) => seen.push([key, reason, ...cache.keys()]),
    });
    cache.set('old', 1);
    cache.set('both', 2);
    cache.load([
      ['both', { value: 20 }],
      ['new', { value: 30 }],
    ]);
    expect([...cache.entries()]).toEqual([
      ['new', 30],
      ['both', 20],
    ]);
    expect(seen).toEqual([
      ['both', 'delete', 'new', 'both'],
      ['old', 'delete', 'new', 'both'],
    ]);
    expect(cache.stats).toMatchObject({ deletes: 2, sets: 4 });
  });

  it('does not give a never-expiring entry the default TTL', () => {
    const { cache, clock } = setup<string>({ defaultTtl: 100 });
    cache.load([
      ['a', { value: 'A' }],
      ['b', { value: 'B', ttl: 0 }],
    ]);
    clock.advance(1_000_000);
    expect(cache.dump().map(([key]) => key)).toEqual(['a', 'b']);
  });

  it('takes elapsed off every TTL and leaves out entries that ran out meanwhile', () => {
    const { cache } = setup<string>();
    cache.load(
      [
        ['a', { value: 'A', ttl: 1000 }],
        ['b', { value: 'B', ttl: 300 }],
        ['c', { value: 'C', ttl: 301 }],
        ['d', { value: 'D' }],
      ],
      { elapsed: 300 },
    );
    expect(cache.dump()).toEqual([
      ['a', { value: 'A', ttl: 700, version: 1 }],
      ['c', { value: 'C', ttl: 1, version: 2 }],
      ['d', { value: 'D', version: 3 }],
    ]);
  });

  it('into a smaller cache keeps the most recently used entries of the snapshot', () => {
    const source = setup<string>();
    for (const key of ['a', 'b', 'c', 'd']) source.cache.set(key, key.toUpperCase());
    source.cache.get('a');

    const byItems = setup<string>({ maxItems: 2 });
    byItems.cache.load(source.cache.dump());
    expect([...byItems.cache.keys()]).toEqual(['a', 'd']);
    expect(byItems.events).toEqual([
      ['b', 'B', 'evict'],
      ['c', 'C', 'evict'],
    ]);
    expect(byItems.cache.stats).toMatchObject({ sets: 4, evictions: 2 });

    const oneEntry = source.cache.memoryUsed / 4;
    const byMemory = setup<string>({ maxMemory: 3 * oneEntry });
    byMemory.cache.load(source.cache.dump());
    expect([...byMemory.cache.keys()]).toEqual(['a', 'd', 'c']);
    expect(byMemory.cache.memoryUsed).toBeLessThanOrEqual(3 * oneEntry);
  });

  it('refuses an entry larger than maxEntrySize and loads the others', () => {
    const { cache } = setup<string>({ maxEntrySize: 200 });
    cache.load([
      ['small', { value: 's' }],
      ['big', { value: 'x'.repeat(500) }],
      ['also', { value: 'a' }],
    ]);
    expect([...cache.keys()]).toEqual(['also', 'small']);
    expect(cache.stats).toMatchObject({ refusals: 1, sets: 2 });
  });
});

describe('load and versions', () => {
  it('into a fresh cache keeps the dumped versions, so a version read before a write fails', () => {
    const source = setup<string>();
    source.cache.set('k', 'X');
    const readBeforeWrite = source.cache.peekEntry('k')!.version;
    source.cache.set('k', 'Y');
    const current = source.cache.peekEntry('k')!.version;

    const target = setup<string>().cache;
    target.load(source.cache.dump());
    expect(target.compareAndSet('k', 'Z', readBeforeWrite)).toBe('exists');
    expect(target.compareAndSet('k', 'Z', current)).toBe('stored');
  });

  it('a version this cache handed out before the load never matches a loaded entry', () => {
    const { cache } = setup<string>();
    cache.set('k', 'mine');
    const held = cache.peekEntry('k')!.version;
    const other = setup<string>().cache;
    other.set('k', 'theirs'); // the same version number, in another cache
    expect(other.peekEntry('k')!.version).toBe(held);

    cache.load(other.dump());
    expect(cache.peekEntry('k')!.version).toBeGreaterThan(held);
    expect(cache.compareAndSet('k', 'stale', held)).toBe('exists');
    expect(cache.peek('k')).toBe('theirs');
  });

  it('reloading its own dump invalidates the versions callers hold', () => {
    const { cache } = setup<string>();
    cache.set('a', 'A');
    cache.set('b', 'B');
    const held = cache.peekEntry('a')!.version;
    cache.load(cache.dump());
    expect(cache.compareAndSet('a', 'A2', held)).toBe('exists');
    expect(cache.dump().map(([, r]) => r.version)).toEqual([3, 4]);
  });

  it('reloading its own dump again and again moves versions up by the span, never doubling', () => {
    const { cache } = setup<string>();
    cache.set('a', 'A');
    cache.set('b', 'B');
    cache.set('c', 'C');
    let previous = cache.lastVersion;
    for (let restart = 0; restart < 200; restart++) {
      const held = cache.peekEntry('b')!.version;
      cache.load(cache.dump());
      expect(cache.compareAndSet('b', 'stale', held)).toBe('exists');
      // Three entries spanning three versions: each reload adds exactly 3.
      expect(cache.lastVersion).toBe(previous + 3);
      previous = cache.lastVersion;
    }
    expect(cache.dump().map(([k, r]) => [k, r.value, r.version])).toEqual([
      ['a', 'A', previous - 2],
      ['b', 'B', previous - 1],
      ['c', 'C', previous],
    ]);
  });

  it('minVersion: no version the dumped cache handed out matches after the load, deleted keys included', () => {
    const { cache: before } = setup<string>();
    before.set('kept', 'v1');
    before.set('gone', 'x');
    const heldGone = before.peekEntry('gone')!.version;
    before.delete('gone');
    // A shutdown: the snapshot and the last version, taken together.
    const snapshot = before.dump();
    const minVersion = before.lastVersion;
    expect(heldGone).toBe(minVersion); // the deleted key holds the highest version

    const { cache: after } = setup<string>();
    after.load(snapshot, { minVersion });
    after.set('gone', 'new');
    expect(after.compareAndSet('gone', 'stale', heldGone)).toBe('exists');
    for (const [, record] of after.dump()) expect(record.version).toBeGreaterThan(minVersion);
    expect(after.peek('kept')).toBe('v1');

    // Without it, a fresh cache keeps the dumped versions and hands the deleted key's number out
    // again: a compareAndSet holding it would wrongly succeed.
    const { cache: careless } = setup<string>();
    careless.load(snapshot);
    careless.set('gone', 'new');
    expect(careless.peekEntry('gone')!.version).toBe(heldGone);
  });

  it('lastVersion is the last version handed out, 0 before any write', () => {
    const { cache } = setup<string>();
    expect(cache.lastVersion).toBe(0);
    cache.set('a', 'A');
    cache.set('a', 'A2');
    expect(cache.lastVersion).toBe(cache.peekEntry('a')!.version);
    expect(cache.lastVersion).toBe(2);
  });

  it('later writes get versions above every version in the snapshot', () => {
    const { cache } = setup<string>();
    cache.load([
      ['a', { value: 'A', version: 7 }],
      ['b', { value: 'B' }],
      ['k', { value: 'K', version: 3 }],
    ]);
    expect(cache.dump().map(([, r]) => r.version)).toEqual([7, 8, 3]);
    const seen = new Set([3, 7, 8]);
    for (let i = 0; i < 10; i++) {
      cache.set('k', `K${i}`);
      const version = cache.peekEntry('k')!.version;
      expect(version).toBeGreaterThan(8);
      expect(seen.has(version)).toBe(false);
      seen.add(version);
    }
  });
});

type Bad = [name: string, entries: unknown, error: typeof TypeError, message: string];
const ok: DumpEntry<unknown> = ['fine', { value: 1, ttl: 10, version: 1 }];
const badSnapshots: Bad[] = [
  ['an object', { fine: 1 }, TypeError, 'load: entries must be an array'],
  ['null', null, TypeError, 'load: entries must be an array'],
  ['a string entry', [ok, 'k'], TypeError, 'load: entry 1 must be a [key, record] pair'],
  ['a one-element entry', [ok, ['k']], TypeError, 'load: entry 1 must be a [key, record] pair'],
  ['a three-element entry', [ok, ['k', { value: 1 }, 2]], TypeError, 'entry 1 must be a [key'],
  ['a number key', [ok, [1, { value: 1 }]], TypeError, 'load: entry 1: key must be a string'],
  ['a null record', [ok, ['k', null]], TypeError, 'load: entry 1 ("k"): record must be an object'],
  ['an array record', [ok, ['k', [1]]], TypeError, 'entry 1 ("k"): record must be an object'],
  ['a missing value', [ok, ['k', { ttl: 1 }]], TypeError, 'entry 1 ("k"): value is missing'],
  ['an undefined value', [ok, ['k', { value: undefined }]], TypeError, 'value is missing'],
  ['an unknown field', [ok, ['k', { value: 1, start: 5 }]], TypeError, 'unknown field "start"'],
  ['a string ttl', [ok, ['k', { value: 1, ttl: '5' }]], TypeError, 'entry 1 ("k"): ttl must be'],
  ['a negative ttl', [ok, ['k', { value: 1, ttl: -1 }]], RangeError, 'entry 1 ("k"): ttl must be'],
  ['a NaN ttl', [ok, ['k', { value: 1, ttl: NaN }]], RangeError, 'ttl must be a finite number'],
  ['an infinite ttl', [ok, ['k', { value: 1, ttl: Infinity }]], RangeError, 'ttl must be a fin'],
  ['a string version', [ok, ['k', { value: 1, version: '2' }]], TypeError, 'version must be a n'],
  ['a version 0', [ok, ['k', { value: 1, version: 0 }]], RangeError, 'version must be a safe int'],
  ['a fraction', [ok, ['k', { value: 1, version: 1.5 }]], RangeError, 'version must be a safe'],
  ['a repeated version', [ok, ['k', { value: 2, version: 1 }]], RangeError, 'repeats entry 0'],
  ['a repeated key', [ok, ['fine', { value: 2 }]], RangeError, 'entry 1 ("fine"): key repeats'],
  [
    'versions past 2^53',
    [ok, ['k', { value: 1, version: Number.MAX_SAFE_INTEGER }]],
    RangeError,
    'would pass 2^52',
  ],
  [
    'versions leaving less than 2^52 writes of room',
    [ok, ['k', { value: 1, version: 2 ** 52 + 1 }]],
    RangeError,
    'would pass 2^52',
  ],
];

describe('load refuses a malformed snapshot and changes nothing', () => {
  function populated() {
    const state = setup<unknown>({ maxItems: 10 });
    state.cache.set('a', 1, { ttl: 1000 });
    state.cache.set('b', 'two');
    state.cache.get('a');
    return state;
  }

  it.each(badSnapshots)('%s', (_name, entries, error, message) => {
    const { cache, events } = populated();
    const before = observe(cache);
    const load = () => cache.load(entries as DumpEntry<unknown>[]);
    expect(load).toThrow(error);
    expect(load).toThrow(message);
    expect(observe(cache)).toEqual(before);
    expect(events).toEqual([]);
    cache.set('c', 3); // versions were not consumed either
    expect(cache.peekEntry('c')!.version).toBe(3);
  });

  const badOptions: [string, unknown, typeof TypeError, string][] = [
    ['a negative elapsed', { elapsed: -1 }, RangeError, 'load: elapsed must be a finite number'],
    ['a NaN elapsed', { elapsed: NaN }, RangeError, 'load: elapsed must be a finite number'],
    ['a string elapsed', { elapsed: '5' }, TypeError, 'load: elapsed must be a number'],
    ['a string minVersion', { minVersion: '5' }, TypeError, 'load: minVersion must be a number'],
    [
      'a negative minVersion',
      { minVersion: -1 },
      RangeError,
      'minVersion must be an integer from 0',
    ],
    ['a minVersion past 2^52', { minVersion: 2 ** 52 + 1 }, RangeError, 'from 0 to 2^52'],
    ['a fractional minVersion', { minVersion: 1.5 }, RangeError, 'minVersion must be an integer'],
    ['an unknown option', { ttl: 5 }, TypeError, 'load: unknown option "ttl"'],
    ['options that are not an object', 5, TypeError, 'load: options must be an object'],
  ];
  it.each(badOptions)('%s', (_name, options, error, message) => {
    const { cache, events } = populated();
    const before = observe(cache);
    const load = () => cache.load([ok], options as { elapsed: number });
    expect(load).toThrow(error);
    expect(load).toThrow(message);
    expect(observe(cache)).toEqual(before);
    expect(events).toEqual([]);
  });

  it('a sizeOf that fails on one entry', () => {
    const state = setup<number>({ sizeOf: (v) => (v === 13 ? NaN : 8) });
    state.cache.set('a', 1);
    const before = observe(state.cache);
    const load = () =>
      state.cache.load([
        ['x', { value: 2 }],
        ['y', { value: 13 }],
      ]);
    expect(load).toThrow('sizeOf must return a finite number');
    expect(observe(state.cache)).toEqual(before);
    expect(state.events).toEqual([]);
  });
});

/** Random histories: writes with and without TTLs, reads, deletes, time passing, evictions. */
type Op =
  | { op: 'set'; key: string; value: number; ttl: number }
  | { op: 'get' | 'delete'; key: string }
  | { op: 'touch'; key: string; ttl: number }
  | { op: 'advance'; ms: number };

const key = fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g', 'ké');
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      op: fc.constant('set' as const),
      key,
      value: fc.integer({ min: 0, max: 300 }),
      ttl: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 50 })),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({ op: fc.constantFrom('get' as const, 'delete' as const), key }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('touch' as const),
      key,
      ttl: fc.integer({ min: 0, max: 50 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('advance' as const), ms: fc.nat(30) }) },
);

function run(cache: LruCache<number>, advance: (ms: number) => void, ops: Op[]): void {
  for (const step of ops) {
    switch (step.op) {
      case 'set':
        cache.set(step.key, step.value, { ttl: step.ttl });
        break;
      case 'get':
        cache.get(step.key);
        break;
      case 'delete':
        cache.delete(step.key);
        break;
      case 'touch':
        cache.touch(step.key, step.ttl);
        break;
      case 'advance':
        advance(step.ms);
    }
  }
}

describe('dump → load → dump', () => {
  // Small limits so that histories evict; values are sized by magnitude (see model.test.ts). Every
  // write passes its ttl, so defaultTtl only matters if load wrongly applied it.
  const limits = {
    maxItems: 5,
    maxMemory: 5 * ENTRY_OVERHEAD + 600,
    sizeOf: (v: number) => v,
    defaultTtl: 25,
  };

  it('is the identity into a fresh cache, also through JSON, and dump changes nothing', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 120 }), (ops) => {
        const source = setup<number>(limits);
        run(source.cache, source.clock.advance, ops);
        const before = observe(source.cache);
        const dumped = source.cache.dump();
        expect(observe(source.cache)).toEqual(before);

        const target = setup<number>(limits, 42);
        target.cache.load(dumped);
        expect(target.cache.dump()).toEqual(dumped);
        expect([...target.cache.entries()]).toEqual([...source.cache.entries()]);
        expect(target.events).toEqual([]);

        const viaJson = setup<number>(limits, 7);
        viaJson.cache.load(JSON.parse(JSON.stringify(dumped)) as DumpEntry<number>[]);
        expect(viaJson.cache.dump()).toEqual(dumped);
      }),
      { numRuns: 300 },
    );
  });

  it('reloading into the same cache keeps everything but the versions, which all move up', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 120 }), (ops) => {
        const { cache, clock } = setup<number>(limits);
        run(cache, clock.advance, ops);
        const dumped = cache.dump();
        const highest = Math.max(0, ...dumped.map(([, r]) => r.version!));
        cache.load(dumped);
        const again = cache.dump();
        const strip = (d: DumpEntry<number>[]) => d.map(([k, { value, ttl }]) => [k, value, ttl]);
        expect(strip(again)).toEqual(strip(dumped));
        for (const [, record] of again) expect(record.version).toBeGreaterThan(highest);
      }),
      { numRuns: 200 },
    );
  });
});
