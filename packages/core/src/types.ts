/**
 * Public types of @dcache/core. This file is the contract other packages build against:
 * add to it freely, but do not change the meaning of what is here.
 */

/** Why an entry left the cache, as reported to `onEvict`. */
export type EvictionReason = 'evict' | 'expire' | 'delete' | 'overwrite';

export interface LruCacheOptions<V> {
  /**
   * Upper bound on accounted memory, in bytes (key bytes + value bytes + per-entry overhead).
   * At least one of `maxMemory` and `maxItems` is required: an unbounded cache is refused.
   */
  maxMemory?: number;
  /**
   * Largest accounted size of one entry, in bytes (lru-cache's `maxEntrySize`): a bigger one is
   * refused, so that a single huge value cannot push most of the cache out. @default maxMemory
   */
  maxEntrySize?: number;
  /** Upper bound on the number of entries. */
  maxItems?: number;
  /** Time to live in milliseconds for entries set without a `ttl`. 0 (the default) = never expire. */
  defaultTtl?: number;
  /** Size of a value in bytes; overrides the built-in estimate. Must return a finite number ≥ 0. */
  sizeOf?: (value: V, key: string) => number;
  /** Called after an entry leaves the cache, with the reason. */
  onEvict?: (key: string, value: V, reason: EvictionReason) => void;
  /** Clock in milliseconds; inject a fake one in tests. @default Date.now (read coarsely) */
  now?: () => number;
  /**
   * Period in milliseconds of the background sweep that reclaims expired entries nobody reads
   * (bounded work per tick, unref'd timer, started only once a TTL is used). 0 = no timer; expired
   * entries are then reclaimed only by reads and writes. @default 1000
   */
  sweepInterval?: number;
  /**
   * Keep, per entry, whether it has been read since it was written and when it was last read or
   * written, and report both in `getEntry`/`peekEntry` (`readSinceWrite`, `idleMs`): memcached's
   * meta `h` and `l` flags. Off, it costs nothing; on, a read hit also reads the clock and
   * updates two typed-array slots (no allocation). @default false
   */
  trackAccess?: boolean;
}

export interface SetOptions {
  /** Time to live in milliseconds; 0 = never expire. @default the cache's `defaultTtl` */
  ttl?: number;
  /**
   * With `trackAccess`: the write updates the entry in place (memcached's in-place `incr`, or
   * marking it stale), so it keeps its access record instead of starting a fresh one. Honoured by
   * `set`, `replace` and `compareAndSet` when the key is present. @default false
   */
  keepAccess?: boolean;
}

/** A versioned read: the value, its version (for compare-and-set) and its remaining TTL. */
export interface CacheEntry<V> {
  value: V;
  /** Changes on every write of the key; unique within one cache instance. */
  version: number;
  /** Remaining time to live in milliseconds, or `undefined` when the entry never expires. */
  ttl: number | undefined;
  /**
   * With `trackAccess`: whether the entry had been read (get, getEntry, getOrSet, touch) since it
   * was written, before this call. Absent without `trackAccess`.
   */
  readSinceWrite?: boolean;
  /**
   * With `trackAccess`: milliseconds since the entry was last read or written, before this call.
   * Absent without `trackAccess`.
   */
  idleMs?: number;
}

/** Outcome of a compare-and-set. */
export type CompareAndSetResult = 'stored' | 'exists' | 'not_found' | 'refused';

export interface CacheStats {
  hits: number;
  misses: number;
  sets: number;
  deletes: number;
  evictions: number;
  expirations: number;
  /** Writes refused because the entry alone exceeds `maxEntrySize` or the memory limit. */
  refusals: number;
  items: number;
  /** Accounted bytes currently held. */
  memoryUsed: number;
  /** The memory limit in bytes (Infinity when only `maxItems` bounds the cache). */
  maxMemory: number;
  /** hits / (hits + misses), 0 when there were no reads. */
  hitRate: number;
}

/** Produces the value of a missing key for `getOrSet`; may be async. */
export type Loader<V> = (key: string) => V | PromiseLike<V>;

/**
 * One entry of a snapshot (`dump()` / `load()`): plain data, so a snapshot can be written as JSON
 * or msgpack. A property that does not apply is absent, never `undefined` (JSON would drop it and
 * msgpack would encode it as an extension type).
 */
export interface DumpRecord<V> {
  /** The stored value itself — the same object, not a copy. */
  value: V;
  /**
   * Remaining time to live in milliseconds when the snapshot was taken; absent (or 0) when the
   * entry never expires.
   */
  ttl?: number;
  /**
   * The entry's version in the dumped cache. `load` keeps the versions' order and, into a cache
   * that has never stored anything, the versions themselves (see README "Snapshots").
   * @default a version after every other in the snapshot
   */
  version?: number;
}

/** `[key, record]`: the shape of lru-cache's `dump()` entries. */
export type DumpEntry<V> = [key: string, record: DumpRecord<V>];

export interface LoadOptions {
  /**
   * Milliseconds the snapshot spent stored before this load (e.g. `Date.now() - savedAt`): taken
   * off every remaining TTL, and an entry whose TTL ran out meanwhile is not loaded. @default 0
   */
  elapsed?: number;
  /**
   * Every version after the load is above this: pass the dumped cache's `lastVersion`, saved with
   * the snapshot, so that no version it handed out — of a key since rewritten or deleted too —
   * matches afterwards. An integer from 0 to 2^52. @default 0
   */
  minVersion?: number;
}
