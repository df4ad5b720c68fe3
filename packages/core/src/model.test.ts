/**
 * Model-based tests: long random operation sequences run against LruCache and a deliberately simple
 * reference model (an array in recency order, scanned linearly), comparing every result.
 */
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { LruCache } from './lru-cache.js';
import { ENTRY_OVERHEAD } from './meter.js';
import { heapStringBytes } from './size-of.js';
import type { CacheEntry, EvictionReason } from './types.js';
import { collidingKeys, targetHomedLast } from './test-colliding-keys.js';

const KEYS = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'ké', 'key-10', 'k11', 'k12'];
/** Values are numbers; a value's size is its magnitude, so incr/decr change the accounted size. */
const sizeOf = (v: number) => Math.abs(v);

type Op =
  | { op: 'set' | 'add' | 'replace'; key: string; value: number; ttl: number | undefined }
  | { op: 'cas'; key: string; value: number; current: boolean; ttl: number | undefined }
  | { op: 'incr' | 'decr'; key: string; delta: number }
  | { op: 'touch'; key: string; ttl: number }
  | { op: 'get' | 'getEntry' | 'peek' | 'peekEntry' | 'has' | 'ttl' | 'delete'; key: string }
  | { op: 'advance'; ms: number }
  | { op: 'clear' | 'purge' | 'reload' | 'scan' };

const value = fc.integer({ min: 0, max: 400 });
const ttl = fc.option(fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 40 })), {
  nil: undefined,
});
/** Operations on keys drawn from `keys`. */
function opsOver(keys: readonly string[]): fc.Arbitrary<Op> {
  const key = fc.constantFrom(...keys);
  return fc.oneof(
    { weight: 6, arbitrary: fc.record({ op: fc.constant('set' as const), key, value, ttl }) },
    {
      weight: 2,
      arbitrary: fc.record({
        op: fc.constantFrom('add' as const, 'replace' as const),
        key,
        value,
        ttl,
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        op: fc.constant('cas' as const),
        key,
        value,
        current: fc.boolean(),
        ttl,
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        op: fc.constantFrom('incr' as const, 'decr' as const),
        key,
        delta: fc.integer({ min: -60, max: 60 }),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        op: fc.constant('touch' as const),
        key,
        ttl: fc.integer({ min: 0, max: 40 }),
      }),
    },
    {
      weight: 8,
      arbitrary: fc.record({
        op: fc.constantFrom(
          'get' as const,
          'getEntry' as const,
          'peek' as const,
          'peekEntry' as const,
          'has' as const,
          'ttl' as const,
          'delete' as const,
        ),
        key,
      }),
    },
    {
      weight: 3,
      arbitrary: fc.record({
        op: fc.constant('advance' as const),
        ms: fc.integer({ min: 0, max: 25 }),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        op: fc.constantFrom('clear' as const, 'purge' as const, 'reload' as const, 'scan' as const),
      }),
    },
  );
}

const opArb = opsOver(KEYS);

const configArb = fc.record({
  maxMemory: fc.option(fc.integer({ min: 200, max: 3000 }), { nil: undefined }),
  maxItems: fc.option(fc.integer({ min: 1, max: 10 }), { nil: undefined }),
  // Around the sizes values reach (up to ~500 bytes with the overhead), and sometimes past maxMemory.
  maxEntrySize: fc.option(fc.integer({ min: 150, max: 4000 }), { nil: undefined }),
  defaultTtl: fc.constantFrom(0, 0, 15),
});
type Config = typeof configArb extends fc.Arbitrary<infer C> ? C : never;

interface ModelEntry {
  key: string;
  value: number;
  size: number;
  expiresAt: number;
  version: number;
}

/** The reference: an array, most recently used first. Obviously correct, obviously slow. */
class Model {
  list: ModelEntry[] = [];
  now = 1000;
  version = 0;
  stats = { hits: 0, misses: 0, sets: 0, deletes: 0, evictions: 0, expirations: 0, refusals: 0 };
  events: string[] = [];

  /** The largest entry stored: maxEntrySize, never more than maxMemory. */
  readonly maxEntrySize: number;

  constructor(
    readonly maxMemory: number,
    readonly maxItems: number,
    readonly defaultTtl: number,
    maxEntrySize: number,
  ) {
    this.maxEntrySize = Math.min(maxEntrySize, maxMemory);
  }

  get memory(): number {
    return this.list.reduce((sum, e) => sum + e.size, 0);
  }

  size(k: string, v: number): number {
    return heapStringBytes(k) + sizeOf(v) + ENTRY_OVERHEAD;
  }

  expired(e: ModelEntry): boolean {
    return e.expiresAt !== 0 && e.expiresAt <= this.now;
  }

  remove(e: ModelEntry, reason: EvictionReason): void {
    this.list.splice(this.list.indexOf(e), 1);
    if (reason === 'evict') this.stats.evictions++;
    if (reason === 'expire') this.stats.expirations++;
    this.events.push(`${e.key}:${reason}`);
  }

  live(k: string): ModelEntry | undefined {
    const e = this.list.find((x) => x.key === k);
    if (e && this.expired(e)) {
      this.remove(e, 'expire');
      return undefined;
    }
    return e;
  }

  promote(e: ModelEntry): void {
    this.list.splice(this.list.indexOf(e), 1);
    this.list.unshift(e);
  }

  evictTail(): void {
    const tail = this.list.at(-1)!;
    this.remove(tail, this.expired(tail) ? 'expire' : 'evict');
  }

  write(
    k: string,
    v: number,
    size: number,
    expiresAt: number,
    existing: ModelEntry | undefined,
  ): void {
    this.version++;
    this.stats.sets++;
    if (existing) {
      const old = existing.value;
      Object.assign(existing, { value: v, size, expiresAt, version: this.version });
      this.promote(existing);
      while (this.memory > this.maxMemory) this.evictTail();
      if (old !== v) this.events.push(`${k}:overwrite`);
      return;
    }
    while (this.list.length >= this.maxItems || this.memory + size > this.maxMemory)
      this.evictTail();
    this.list.unshift({ key: k, value: v, size, expiresAt, version: this.version });
  }

  expiry(ttl: number | undefined): number {
    const t = ttl ?? this.defaultTtl;
    return t === 0 ? 0 : this.now + t;
  }

  entry(e: ModelEntry): CacheEntry<number> {
    return {
      value: e.value,
      version: e.version,
      ttl: e.expiresAt === 0 ? undefined : e.expiresAt - this.now,
    };
  }

  liveEntries(): [string, number][] {
    return this.list.filter((e) => !this.expired(e)).map((e) => [e.key, e.value]);
  }

  apply(op: Op): unknown {
    switch (op.op) {
      case 'set': {
        const size = this.size(op.key, op.value);
        const e = this.live(op.key);
        if (size > this.maxEntrySize) {
          // The entry the set was to replace goes (as lru-cache and memcached do).
          if (e !== undefined) this.remove(e, 'overwrite');
          return this.refuse();
        }
        this.write(op.key, op.value, size, this.expiry(op.ttl), e);
        return true;
      }
      case 'add':
      case 'replace': {
        const size = this.size(op.key, op.value);
        const e = this.live(op.key);
        if ((op.op === 'add') === (e !== undefined)) return false;
        if (size > this.maxEntrySize) return this.refuse();
        this.write(op.key, op.value, size, this.expiry(op.ttl), e);
        return true;
      }
      case 'cas': {
        const size = this.size(op.key, op.value);
        const e = this.live(op.key);
        if (!e) return 'not_found';
        if (!op.current) return 'exists'; // the test passes a stale version
        if (size > this.maxEntrySize) return (this.refuse(), 'refused');
        this.write(op.key, op.value, size, this.expiry(op.ttl), e);
        return 'stored';
      }
      case 'incr':
      case 'decr': {
        const e = this.live(op.key);
        if (!e) return undefined;
        const next = e.value + (op.op === 'incr' ? op.delta : -op.delta);
        const size = this.size(op.key, next);
        if (size > this.maxEntrySize) {
          this.refuse();
          return 'RangeError';
        }
        this.write(op.key, next, size, e.expiresAt, e);
        return next;
      }
      case 'touch': {
        const e = this.live(op.key);
        if (!e) return false;
        e.expiresAt = this.expiry(op.ttl);
        this.promote(e);
        return true;
      }
      case 'delete': {
        const e = this.live(op.key);
        if (!e) return false;
        this.remove(e, 'delete');
        this.stats.deletes++;
        return true;
      }
      case 'get':
      case 'getEntry': {
        const e = this.live(op.key);
        if (!e) {
          this.stats.misses++;
          return undefined;
        }
        this.stats.hits++;
        this.promote(e);
        return op.op === 'get' ? e.value : this.entry(e);
      }
      case 'peek':
        return this.live(op.key)?.value;
      case 'peekEntry': {
        const e = this.live(op.key);
        return e && this.entry(e);
      }
      case 'has':
        return this.live(op.key) !== undefined;
      case 'ttl': {
        const e = this.live(op.key);
        if (!e) return undefined;
        return e.expiresAt === 0 ? Infinity : e.expiresAt - this.now;
      }
      case 'advance':
        this.now += op.ms;
        return undefined;
      case 'clear':
        for (const e of this.list) this.events.push(`${e.key}:delete`);
        this.stats.deletes += this.list.length;
        this.list = [];
        return undefined;
      case 'reload': {
        // dump() then load() into the same cache: a clear (every entry held is a delete), then the
        // live entries written back, versions shifted above every version handed out.
        const live = this.list.filter((e) => !this.expired(e));
        for (const e of this.list) this.events.push(`${e.key}:delete`);
        this.stats.deletes += this.list.length;
        if (live.length > 0) {
          const lowest = Math.min(...live.map((e) => e.version));
          const shift = Math.max(0, this.version + 1 - lowest);
          for (const e of live) e.version += shift;
          this.version = Math.max(this.version, ...live.map((e) => e.version));
        }
        this.stats.sets += live.length;
        this.list = live;
        return undefined;
      }
      case 'scan':
        return this.liveEntries()
          .map(([k]) => k)
          .sort();
      case 'purge': {
        const expired = this.list.filter((e) => this.expired(e));
        for (const e of expired) this.remove(e, 'expire');
        return expired.length;
      }
    }
  }

  refuse(): false {
    this.stats.refusals++;
    return false;
  }
}

function applyReal(cache: LruCache<number>, op: Op, clock: { now: number }): unknown {
  switch (op.op) {
    case 'set':
    case 'add':
    case 'replace': {
      const version = cache[op.op](
        op.key,
        op.value,
        op.ttl === undefined ? undefined : { ttl: op.ttl },
      );
      if (version === undefined) return false;
      // The version a write returns is the one the entry now holds, and the cache's last.
      expect(cache.peekEntry(op.key)?.version).toBe(version);
      expect(cache.lastVersion).toBe(version);
      return true;
    }
    case 'cas': {
      // Versions start at 1: 0 is a stale version of every entry.
      const version = op.current ? (cache.peekEntry(op.key)?.version ?? 0) : 0;
      return cache.compareAndSet(
        op.key,
        op.value,
        version,
        op.ttl === undefined ? undefined : { ttl: op.ttl },
      );
    }
    case 'incr':
    case 'decr':
      try {
        return cache[op.op](op.key, op.delta);
      } catch (error) {
        return (error as Error).name;
      }
    case 'touch':
      return cache.touch(op.key, op.ttl);
    case 'get':
    case 'getEntry':
    case 'peek':
    case 'peekEntry':
    case 'has':
    case 'ttl':
    case 'delete':
      return cache[op.op](op.key);
    case 'advance':
      clock.now += op.ms;
      return undefined;
    case 'clear':
      return cache.clear();
    case 'purge':
      return cache.purgeExpired();
    case 'reload':
      return cache.load(cache.dump());
    case 'scan': {
      const keys: string[] = [];
      let cursor: number | undefined = 0;
      for (let pages = 0; cursor !== undefined; pages++) {
        if (pages > 100) throw new Error('scan did not end');
        const page: ReturnType<typeof cache.scan> = cache.scan(cursor, 2);
        keys.push(...page.entries.map(([k]) => k));
        cursor = page.next;
      }
      return keys.sort();
    }
  }
}

/** Whether `op`, having returned `result`, made its key the most recently used. */
function promoted(op: Op, result: unknown): boolean {
  switch (op.op) {
    case 'get':
    case 'getEntry':
      return result !== undefined;
    case 'set':
    case 'add':
    case 'replace':
    case 'touch':
      return result === true;
    case 'cas':
      return result === 'stored';
    case 'incr':
    case 'decr':
      return typeof result === 'number';
    default:
      return false;
  }
}

const WRITES = new Set(['set', 'add', 'replace', 'cas', 'incr', 'decr']);

function setup(config: {
  maxMemory: number | undefined;
  maxItems: number | undefined;
  maxEntrySize?: number | undefined;
  defaultTtl: number;
}) {
  const maxMemory = config.maxMemory ?? (config.maxItems === undefined ? 2000 : undefined);
  const clock = { now: 1000 };
  const events: string[] = [];
  const cache = new LruCache<number>({
    ...(maxMemory === undefined ? {} : { maxMemory }),
    ...(config.maxItems === undefined ? {} : { maxItems: config.maxItems }),
    ...(config.maxEntrySize === undefined ? {} : { maxEntrySize: config.maxEntrySize }),
    defaultTtl: config.defaultTtl,
    sizeOf,
    now: () => clock.now,
    sweepInterval: 0,
    onEvict: (k, _v, reason) => events.push(`${k}:${reason}`),
  });
  const model = new Model(
    maxMemory ?? Infinity,
    config.maxItems ?? Infinity,
    config.defaultTtl,
    config.maxEntrySize ?? Infinity,
  );
  return { cache, clock, events, model };
}

/** Runs `ops` against the cache and the model, comparing every result, stat and order. */
const matchesModel = (config: Config, ops: Op[]): void => {
  const { cache, clock, events, model } = setup(config);
  // A purge reports expirations in slot order, the model in list order: compare as sets.
  const purgeBoth = () => {
    const from = events.length;
    expect(cache.purgeExpired()).toBe(model.apply({ op: 'purge' }));
    expect(events.splice(from).sort()).toEqual(model.events.splice(from).sort());
  };
  for (const op of ops) {
    if (op.op === 'purge') {
      purgeBoth();
      continue;
    }
    // Writes reclaim expired entries opportunistically (a bounded sweep at a cursor the model
    // cannot predict); purging first makes the outcome exact. The free-running test below
    // covers writes over unreclaimed expired entries.
    if (WRITES.has(op.op)) {
      purgeBoth();
    }
    const expected = model.apply(op);
    const actual = applyReal(cache, op, clock);
    expect(actual, JSON.stringify(op)).toEqual(expected);
    expect(cache.memoryUsed).toBe(model.memory);
    expect(cache.memoryUsed).toBeLessThanOrEqual(cache.maxMemory);
    expect(cache.size).toBe(model.list.length);
    expect(cache.size).toBeLessThanOrEqual(cache.maxItems);
    expect([...cache.entries()]).toEqual(model.liveEntries());
    expect(events).toEqual(model.events);
  }
  const { hits, misses, sets, deletes, evictions, expirations, refusals } = cache.stats;
  expect({ hits, misses, sets, deletes, evictions, expirations, refusals }).toEqual(model.stats);
};

// Hundreds of long sequences: seconds of CPU, more on a loaded machine than vitest's 5 s default.
const PROPERTY_TIMEOUT_MS = 120_000;

describe('LruCache against a reference model', () => {
  it(
    'matches the model result for result, with identical stats, memory and order',
    () => {
      fc.assert(
        fc.property(configArb, fc.array(opArb, { minLength: 50, maxLength: 400 }), matchesModel),
        { numRuns: 150 },
      );
    },
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'matches the model with adversarial keys: equal hashes, runs wrapping past the last cell',
    () => {
      // The index draws its seed from Math.random: fixed here, so keys can be built against it.
      const SEED = 42;
      const keys = [
        ...collidingKeys(SEED, 16),
        ...collidingKeys(SEED, 8, 6, targetHomedLast(SEED, 6)),
        ...KEYS.slice(0, 6),
      ];
      const random = vi.spyOn(Math, 'random').mockReturnValue(SEED / 2 ** 32);
      try {
        fc.assert(
          fc.property(
            configArb,
            fc.array(opsOver(keys), { minLength: 50, maxLength: 400 }),
            matchesModel,
          ),
          { numRuns: 100 },
        );
      } finally {
        random.mockRestore();
      }
    },
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'matches the model while the store grows past its first slots and the index rehashes',
    () => {
      // 200 keys under limits of up to 150 entries: the slot arrays double several times and the
      // key index rehashes, which the dozen keys above never make them do.
      const keys = Array.from({ length: 200 }, (_, i) => `key-${i}${i % 7 === 0 ? 'é' : ''}`);
      const growing = fc.record({
        maxMemory: fc.constant(undefined),
        maxItems: fc.integer({ min: 17, max: 150 }),
        maxEntrySize: fc.constant(undefined),
        defaultTtl: fc.constantFrom(0, 0, 15),
      });
      fc.assert(
        fc.property(
          growing,
          fc.array(opsOver(keys), { minLength: 300, maxLength: 1500 }),
          matchesModel,
        ),
        { numRuns: 30 },
      );
    },
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'free-running: never returns an expired or stale value, keeps limits and recency order',
    () => {
      fc.assert(
        fc.property(
          configArb,
          fc.array(opArb, { minLength: 50, maxLength: 400 }),
          (config, ops) => {
            const { cache, clock, events } = setup(config);
            // An oracle of what the cache may hold: the last value written per key and its expiry,
            // with no eviction; plus the recency order of all keys ever touched.
            const oracle = new Map<string, { value: number; expiresAt: number }>();
            let recency: string[] = [];
            const use = (k: string) => {
              recency = [k, ...recency.filter((x) => x !== k)];
            };
            const expired = (k: string) => {
              const o = oracle.get(k);
              return o === undefined || (o.expiresAt !== 0 && o.expiresAt <= clock.now);
            };
            for (const op of ops) {
              const before = new Set(cache.keys());
              events.length = 0;
              const result = applyReal(cache, op, clock);
              if ('key' in op) {
                const k = op.key;
                const entry = cache.peekEntry(k);
                const readValue =
                  op.op === 'get' || op.op === 'peek'
                    ? result
                    : op.op === 'getEntry' || op.op === 'peekEntry'
                      ? (result as CacheEntry<number> | undefined)?.value
                      : undefined;
                if (readValue !== undefined) {
                  expect(expired(k), `expired ${k} served`).toBe(false);
                  expect(readValue).toBe(oracle.get(k)!.value);
                }
                if (entry !== undefined) {
                  // Whatever wrote it, the oracle learns it now (writes are checked against their inputs).
                  const ttlLeft = entry.ttl;
                  const wrote = ['set', 'add', 'replace', 'cas', 'incr', 'decr', 'touch'].includes(
                    op.op,
                  );
                  if (!wrote) expect(entry.value).toBe(oracle.get(k)?.value);
                  if (op.op === 'set' && result === true) expect(entry.value).toBe(op.value);
                  oracle.set(k, {
                    value: entry.value,
                    expiresAt: ttlLeft === undefined ? 0 : clock.now + ttlLeft,
                  });
                  if (promoted(op, result)) use(k);
                }
              }
              expect(cache.memoryUsed).toBeLessThanOrEqual(cache.maxMemory);
              expect(cache.size).toBeLessThanOrEqual(cache.maxItems);
              const live = [...cache.keys()];
              for (const k of live) expect(expired(k), `expired ${k} listed`).toBe(false);
              // Live keys appear in the same relative order as in the oracle's recency list.
              const positions = live.map((k) => recency.indexOf(k));
              expect(positions.every((p, i) => p >= 0 && (i === 0 || p > positions[i - 1]!))).toBe(
                true,
              );
              // An LRU eviction removes an entry older than every survivor that was there before.
              for (const event of events) {
                const [victim, reason] = event.split(':') as [string, string];
                if (reason !== 'evict') continue;
                for (const k of live) {
                  if (before.has(k) && k !== ('key' in op ? op.key : '')) {
                    expect(recency.indexOf(k)).toBeLessThan(recency.indexOf(victim));
                  }
                }
              }
            }
          },
        ),
        { numRuns: 150 },
      );
    },
    PROPERTY_TIMEOUT_MS,
  );
});
