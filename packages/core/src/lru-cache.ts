/**
 * LruCache: an in-process LRU cache with TTLs, a byte-accounted memory limit, versioned
 * (compare-and-set) writes, counters and single-flight loading.
 *
 * Storage is slot-based, as in lru-cache: a Map from key to slot index, the recency list in
 * Int32Arrays (lru-list.ts), keys and values in plain arrays indexed by slot, and per-slot sizes,
 * versions and expiry times in typed arrays. Everything grows by doubling with use. A get hit reads
 * the Map, rewires two integers and allocates nothing.
 *
 * Every public method validates its arguments before touching state, and runs to completion
 * without awaiting, so no caller can observe a half-done operation. `onEvict` callbacks are queued
 * and delivered when the operation that caused them has finished.
 */
import type {
  CacheEntry,
  CacheStats,
  CompareAndSetResult,
  DumpEntry,
  DumpRecord,
  EvictionReason,
  LoadOptions,
  LruCacheOptions,
  Loader,
  SetOptions,
} from './types.js';
import { resolveOptions } from './options.js';
import {
  assertFunction,
  assertKey,
  assertTtl,
  describe,
  keepAccessOf,
  resolveTtl,
} from './validate.js';
import { defaultSizeOf } from './size-of.js';
import { entryBytes } from './meter.js';
import { LruList, grown } from './lru-list.js';
import { StatsCounters } from './stats.js';
import { SingleFlight } from './single-flight.js';
import { SWEEP_PER_TICK, SWEEP_PER_WRITE, expiryFor, isExpired, startSweeper } from './ttl.js';
import { NotNumericError } from './errors/not-numeric-error.js';
import { EvictQueue } from './evict-queue.js';
import { parseSnapshot, VERSION_CEILING } from './snapshot.js';

const NONE = -1;

export class LruCache<V> {
  readonly #maxMemory: number;
  /** The largest entry stored: `maxEntrySize`, never more than `maxMemory`. */
  readonly #maxEntrySize: number;
  readonly #maxItems: number;
  readonly #defaultTtl: number;
  readonly #sizeOf: ((value: V, key: string) => number) | undefined;
  readonly #now: () => number;
  readonly #sweepInterval: number;

  #map = new Map<string, number>();
  #list: LruList;
  #keys: (string | undefined)[] = [];
  #values: (V | undefined)[] = [];
  /** Accounted bytes per slot. Uint32 when the limit fits in 32 bits (no entry can exceed it). */
  #sizes: Uint32Array | Float64Array;
  #versions: Float64Array;
  /** Absolute expiry per slot (0 = never); undefined until the first TTL is used. */
  #expiresAt: Float64Array | undefined;
  /** Clock reading of the last read or write per slot; present only with `trackAccess`. */
  #accessedAt: Float64Array | undefined;
  /** 1 when the slot's entry has been read since it was written; only with `trackAccess`. */
  #readFlags: Uint8Array | undefined;
  #sweepCursor = 0;
  #sweepTimer: ReturnType<typeof setInterval> | undefined;
  #memoryUsed = 0;
  #version = 0;
  readonly #stats = new StatsCounters();
  #flights: SingleFlight<V> | undefined;

  /** Present only with an onEvict option. */
  readonly #evictQueue: EvictQueue<V> | undefined;

  constructor(options: LruCacheOptions<V>) {
    const resolved = resolveOptions(options);
    this.#maxMemory = resolved.maxMemory;
    this.#maxEntrySize = Math.min(resolved.maxEntrySize, resolved.maxMemory);
    this.#maxItems = resolved.maxItems;
    this.#defaultTtl = resolved.defaultTtl;
    this.#sizeOf = resolved.sizeOf;
    this.#evictQueue = resolved.onEvict && new EvictQueue(resolved.onEvict);
    this.#now = resolved.now;
    this.#sweepInterval = resolved.sweepInterval;
    this.#list = new LruList(this.#maxItems);
    this.#sizes = this.#newSizes(this.#list.capacity);
    this.#versions = new Float64Array(this.#list.capacity);
    if (resolved.trackAccess) {
      this.#accessedAt = new Float64Array(this.#list.capacity);
      this.#readFlags = new Uint8Array(this.#list.capacity);
    }
  }

  /** Entries held, including expired ones not yet reclaimed. */
  get size(): number {
    return this.#map.size;
  }

  /** Accounted bytes currently held (see README "Memory meter"). */
  get memoryUsed(): number {
    return this.#memoryUsed;
  }

  /** The memory limit in bytes; Infinity when only `maxItems` bounds the cache. */
  get maxMemory(): number {
    return this.#maxMemory;
  }

  /** The item limit; Infinity when only `maxMemory` bounds the cache. */
  get maxItems(): number {
    return this.#maxItems;
  }

  /**
   * The last version this cache handed out (0 before its first write): saved with a snapshot, it
   * is the `minVersion` that keeps any version of this cache from matching after a `load`.
   */
  get lastVersion(): number {
    return this.#version;
  }

  get stats(): CacheStats {
    return this.#stats.snapshot(this.#map.size, this.#memoryUsed, this.#maxMemory);
  }

  resetStats(): void {
    this.#stats.reset();
  }

  // ---------------------------------------------------------------- reads

  /** The value of `key`, promoting it to most recently used; counts a hit or a miss. */
  get(key: string): V | undefined {
    assertKey(key, 'get');
    const slot = this.#map.get(key);
    if (slot === undefined) {
      this.#stats.misses++;
      return undefined;
    }
    const expiresAt = this.#expiresAt;
    if (expiresAt !== undefined) {
      const at = expiresAt[slot]!;
      if (at !== 0 && at <= this.#now()) {
        this.#remove(slot, 'expire');
        this.#stats.misses++;
        this.#settle();
        return undefined;
      }
    }
    this.#stats.hits++;
    this.#list.moveToHead(slot);
    if (this.#accessedAt !== undefined) this.#noteRead(slot);
    return this.#values[slot];
  }

  /** Like `get`, with the entry's version (for `compareAndSet`) and remaining TTL. */
  getEntry(key: string): CacheEntry<V> | undefined {
    assertKey(key, 'getEntry');
    const slot = this.#liveSlot(key);
    if (slot === NONE) {
      this.#stats.misses++;
      return this.#settle(undefined);
    }
    this.#stats.hits++;
    this.#list.moveToHead(slot);
    if (this.#accessedAt === undefined) return this.#entryAt(slot);
    // The entry reports the access record as it was before this read.
    const entry = this.#entryAt(slot);
    this.#noteRead(slot);
    return entry;
  }

  /** The value of `key` without promoting it or counting a hit/miss. */
  peek(key: string): V | undefined {
    assertKey(key, 'peek');
    const slot = this.#liveSlot(key);
    return slot === NONE ? this.#settle(undefined) : this.#values[slot];
  }

  /** Like `peek`, with version and remaining TTL. */
  peekEntry(key: string): CacheEntry<V> | undefined {
    assertKey(key, 'peekEntry');
    const slot = this.#liveSlot(key);
    return slot === NONE ? this.#settle(undefined) : this.#entryAt(slot);
  }

  /** Whether `key` holds an unexpired entry; no promotion, no hit/miss. */
  has(key: string): boolean {
    assertKey(key, 'has');
    return this.#settle(this.#liveSlot(key) !== NONE);
  }

  /** Remaining time to live in ms: Infinity when the entry never expires, undefined when absent. */
  ttl(key: string): number | undefined {
    assertKey(key, 'ttl');
    const slot = this.#liveSlot(key);
    if (slot === NONE) return this.#settle(undefined);
    const at = this.#expiresAt?.[slot] ?? 0;
    return at === 0 ? Infinity : remainingMs(at, this.#now());
  }

  // ---------------------------------------------------------------- writes

  /**
   * Stores `value` under `key` as most recently used. Returns false (and counts a refusal) when
   * the entry alone is larger than `maxEntrySize` or `maxMemory`; the cache is then left as it was.
   */
  set(key: string, value: V, options?: SetOptions): boolean {
    assertKey(key, 'set');
    const ttl = resolveTtl(options, this.#defaultTtl, 'set');
    const keep = keepAccessOf(options, 'set');
    const size = this.#measure(key, value);
    if (size > this.#maxEntrySize) return this.#refuse();
    const slot = this.#liveSlot(key);
    this.#write(key, value, size, expiryFor(ttl, this.#now), slot, ++this.#version, keep);
    this.#settle();
    return true;
  }

  /** `set` only if `key` is absent (or expired). */
  add(key: string, value: V, options?: SetOptions): boolean {
    assertKey(key, 'add');
    const ttl = resolveTtl(options, this.#defaultTtl, 'add');
    const size = this.#measure(key, value);
    const slot = this.#liveSlot(key);
    if (slot !== NONE) return this.#settle(false);
    if (size > this.#maxEntrySize) return this.#settle(this.#refuse());
    this.#write(key, value, size, expiryFor(ttl, this.#now), NONE, ++this.#version);
    return this.#settle(true);
  }

  /** `set` only if `key` is present. */
  replace(key: string, value: V, options?: SetOptions): boolean {
    assertKey(key, 'replace');
    const ttl = resolveTtl(options, this.#defaultTtl, 'replace');
    const keep = keepAccessOf(options, 'replace');
    const size = this.#measure(key, value);
    const slot = this.#liveSlot(key);
    if (slot === NONE) return this.#settle(false);
    if (size > this.#maxEntrySize) return this.#settle(this.#refuse());
    this.#write(key, value, size, expiryFor(ttl, this.#now), slot, ++this.#version, keep);
    return this.#settle(true);
  }

  /**
   * Stores `value` only if `key` is present with exactly `version` (from `getEntry`/`peekEntry`).
   * 'not_found': absent or expired; 'exists': written since; 'refused': too large.
   */
  compareAndSet(key: string, value: V, version: number, options?: SetOptions): CompareAndSetResult {
    assertKey(key, 'compareAndSet');
    if (typeof version !== 'number') {
      throw new TypeError(`compareAndSet: version must be a number, got ${describe(version)}`);
    }
    const ttl = resolveTtl(options, this.#defaultTtl, 'compareAndSet');
    const keep = keepAccessOf(options, 'compareAndSet');
    const size = this.#measure(key, value);
    const slot = this.#liveSlot(key);
    let result: CompareAndSetResult;
    if (slot === NONE) result = 'not_found';
    else if (this.#versions[slot] !== version) result = 'exists';
    else if (size > this.#maxEntrySize) {
      this.#refuse();
      result = 'refused';
    } else {
      this.#write(key, value, size, expiryFor(ttl, this.#now), slot, ++this.#version, keep);
      result = 'stored';
    }
    return this.#settle(result);
  }

  /**
   * Adds `delta` to a numeric value and returns the new number, keeping the entry's TTL.
   * `undefined` when the key is absent; NotNumericError when its value is not a number.
   */
  incr(key: string, delta = 1): number | undefined {
    assertKey(key, 'incr');
    assertDelta(delta, 'incr');
    return this.#addToNumber(key, delta, 'incr');
  }

  /** `incr` by `-delta`. */
  decr(key: string, delta = 1): number | undefined {
    assertKey(key, 'decr');
    assertDelta(delta, 'decr');
    return this.#addToNumber(key, -delta, 'decr');
  }

  /**
   * Resets the TTL of a present entry (0 = never expire) and promotes it; false when absent. With
   * `trackAccess` it counts as a read unless `options.keepAccess` is set.
   */
  touch(key: string, ttl: number, options?: Pick<SetOptions, 'keepAccess'>): boolean {
    assertKey(key, 'touch');
    assertTtl(ttl, 'touch');
    const keep = keepAccessOf(options, 'touch');
    const slot = this.#liveSlot(key);
    if (slot === NONE) return this.#settle(false);
    if (ttl !== 0) this.#installTtl();
    if (this.#expiresAt !== undefined) this.#expiresAt[slot] = expiryFor(ttl, this.#now);
    this.#list.moveToHead(slot);
    if (this.#accessedAt !== undefined && !keep) this.#noteRead(slot);
    return this.#settle(true);
  }

  /** Removes `key`; true when an unexpired entry was removed. */
  delete(key: string): boolean {
    assertKey(key, 'delete');
    // Before the presence check: while a load runs the key is usually absent, and this delete is
    // then the caller invalidating what the loader is reading.
    this.#flights?.invalidate(key);
    const slot = this.#liveSlot(key);
    if (slot === NONE) return this.#settle(false);
    this.#remove(slot, 'delete');
    this.#stats.deletes++;
    return this.#settle(true);
  }

  /**
   * Removes every entry and releases the storage. Each entry held (expired ones not yet reclaimed
   * included) is a delete: reported to onEvict as 'delete' and counted in `stats.deletes`.
   */
  clear(): void {
    this.#clear();
    this.#settle();
  }

  /** `clear` without delivering onEvict calls, so that `load` delivers them once it is done. */
  #clear(): void {
    this.#flights?.invalidateAll();
    this.#stats.deletes += this.#map.size;
    if (this.#evictQueue !== undefined) {
      for (let s = this.#list.head; s !== NONE; s = this.#list.nextOf(s)) {
        this.#notify(this.#keys[s]!, this.#values[s]!, 'delete');
      }
    }
    this.#map = new Map();
    this.#list = new LruList(this.#maxItems);
    this.#keys = [];
    this.#values = [];
    this.#sizes = this.#newSizes(this.#list.capacity);
    this.#versions = new Float64Array(this.#list.capacity);
    if (this.#expiresAt !== undefined) this.#expiresAt = new Float64Array(this.#list.capacity);
    if (this.#accessedAt !== undefined) {
      this.#accessedAt = new Float64Array(this.#list.capacity);
      this.#readFlags = new Uint8Array(this.#list.capacity);
    }
    this.#sweepCursor = 0;
    this.#memoryUsed = 0;
  }

  /**
   * The value of `key`, or else the value `loader` produces, stored with `ttl`. Concurrent calls
   * for the same missing key share one loader call. A loader that throws or rejects stores nothing
   * and rejects every waiter. A write to the key while loading wins over the loaded value (it is
   * newer); a `delete` of the key or a `clear` while loading means the loader may have read data
   * that is now stale, so the loaded value goes to the waiters but is not stored (and later calls
   * start a fresh load); an eviction of the key while loading does not cancel the load.
   */
  getOrSet(key: string, loader: Loader<V>, options?: SetOptions): Promise<V> {
    assertKey(key, 'getOrSet');
    assertFunction(loader, 'getOrSet: loader');
    const ttl = resolveTtl(options, this.#defaultTtl, 'getOrSet');
    const slot = this.#liveSlot(key);
    if (slot !== NONE) {
      this.#stats.hits++;
      this.#list.moveToHead(slot);
      if (this.#accessedAt !== undefined) this.#noteRead(slot);
      const value = this.#values[slot] as V;
      this.#settle();
      return Promise.resolve(value);
    }
    this.#stats.misses++;
    this.#settle();
    this.#flights ??= new SingleFlight<V>();
    return this.#flights.run(key, async (isStale) => {
      const value = await loader(key);
      // The key was absent when the load began, so a live entry now was written meanwhile: keep it.
      if (!isStale() && this.#liveSlot(key) === NONE) {
        const size = this.#measure(key, value);
        if (size > this.#maxEntrySize) this.#refuse();
        else this.#write(key, value, size, expiryFor(ttl, this.#now), NONE, ++this.#version);
      }
      this.#settle();
      return value;
    });
  }

  /** Reclaims every expired entry now; returns how many were removed. */
  purgeExpired(): number {
    const before = this.#stats.expirations;
    if (this.#expiresAt !== undefined) this.#sweep(this.#list.used);
    this.#settle();
    return this.#stats.expirations - before;
  }

  // ---------------------------------------------------------------- snapshots

  /**
   * Every unexpired entry as plain data, least recently used first (lru-cache's order), so that
   * `load`, which stores the entries in order, restores the recency order. Changes nothing: no
   * promotion, no hit/miss, expired entries are skipped but not reclaimed.
   *
   * A TTL is dumped as the time left, not as an absolute time like lru-cache's `start` (a
   * `Date.now()` reading): the cache's clock is injectable, so its readings need not be wall-clock
   * time, and mean nothing in another process. Time the snapshot spends stored is accounted by the
   * caller, once for the whole snapshot (`load`'s `elapsed`).
   */
  dump(): DumpEntry<V>[] {
    const dumped: DumpEntry<V>[] = [];
    const expiresAt = this.#expiresAt;
    // One reading for all entries: their TTLs are left at the same instant.
    const now = expiresAt === undefined ? 0 : this.#now();
    const list = this.#list;
    for (let slot = list.head; slot !== NONE; slot = list.nextOf(slot)) {
      const value = this.#values[slot];
      const at = expiresAt?.[slot] ?? 0;
      // An undefined value cannot be told from a miss and does not survive JSON (as in lru-cache).
      if (value === undefined || isExpired(at, now)) continue;
      const version = this.#versions[slot]!;
      // Whole literals: two fixed shapes, built faster than by adding properties one by one.
      const record: DumpRecord<V> =
        at === 0 ? { value, version } : { value, ttl: remainingMs(at, now), version };
      dumped.push([this.#keys[slot]!, record]);
    }
    return dumped.reverse();
  }

  /**
   * Replaces the contents with a snapshot from `dump()`, as lru-cache's `load` does: `clear()`,
   * then a `set` of each entry in order, with its remaining TTL (less `elapsed`; an entry that
   * never expired still does not, whatever `defaultTtl` says). Every entry is checked first: a
   * malformed snapshot throws a TypeError/RangeError naming the entry and changes nothing.
   * Entries that do not fit are evicted or refused as by `set`, so the most recently used survive.
   *
   * Versions: every version after the load is above `f`, the larger of the last version this
   * cache handed out and `minVersion` — so a caller holding one of those gets 'exists' from
   * compareAndSet. Loaded entries keep the dumped versions shifted by the least that achieves it,
   * `max(0, f + 1 − smallest dumped)` (order kept; reloading a cache's own dump again and again
   * grows versions by the snapshot's span, not doubling them), and entries without one get versions
   * after those. Into a fresh cache with no `minVersion` the dumped versions stay as they were: a
   * version read from the dumped cache still matches its value if that is what was dumped. Give
   * `minVersion` the dumped cache's `lastVersion` (a process restarting from its snapshot) so that
   * versions of keys written or deleted after the dump cannot come back either. A load that would
   * leave versions above 2^52 throws a RangeError (at least 2^52 writes must still fit below 2^53).
   */
  load(entries: readonly DumpEntry<V>[], options?: LoadOptions): void {
    const { keys, values, ttls, versions, maxVersion, minVersion, unversioned, floor } =
      parseSnapshot<V>(entries, options);
    // Measured before anything changes: a bad sizeOf result throws.
    const sizes = new Float64Array(keys.length);
    for (let i = 0; i < keys.length; i++) sizes[i] = this.#measure(keys[i]!, values[i]!);
    const above = Math.max(this.#version, floor);
    const shift = minVersion === 0 ? 0 : Math.max(0, above + 1 - minVersion);
    if (Math.max(above, maxVersion + shift) + unversioned > VERSION_CEILING) {
      throw new RangeError(
        `load: versions up to ${maxVersion}, above this cache's ${above}, would pass 2^52 (room for 2^52 more writes must remain)`,
      );
    }
    this.#clear();
    let last = Math.max(above, maxVersion + shift);
    for (let i = 0; i < keys.length; i++) {
      const size = sizes[i]!;
      if (size > this.#maxEntrySize) {
        this.#refuse();
        continue;
      }
      const version = versions[i] === 0 ? ++last : versions[i]! + shift;
      this.#write(keys[i]!, values[i]!, size, expiryFor(ttls[i]!, this.#now), NONE, version);
    }
    this.#version = last;
    this.#settle();
  }

  // ---------------------------------------------------------------- iteration (MRU → LRU)

  /**
   * Up to `limit` live entries from slot `cursor` on, and the cursor to continue from (undefined
   * once the scan is done), as Redis' SCAN: slots never move while their entry lives, so an entry
   * present for the whole scan is returned exactly once, and one added or removed meanwhile may or
   * may not be. Looks at no more than `limit × 8` slots per call, however many are free. No
   * promotion, no hit or miss. Start with cursor 0.
   */
  scan(
    cursor: number,
    limit: number,
  ): { entries: [key: string, entry: CacheEntry<V>][]; next: number | undefined } {
    if (!Number.isSafeInteger(cursor) || cursor < 0) {
      throw new RangeError(`scan: cursor must be a whole number ≥ 0, got ${describe(cursor)}`);
    }
    if (!Number.isSafeInteger(limit) || limit < 1) {
      throw new RangeError(`scan: limit must be a whole number ≥ 1, got ${describe(limit)}`);
    }
    const entries: [string, CacheEntry<V>][] = [];
    const end = this.#keys.length;
    const budget = Math.min(end, cursor + limit * 8);
    let slot = cursor;
    for (; slot < budget && entries.length < limit; slot++) {
      const key = this.#keys[slot];
      if (key === undefined || (this.#expiresAt !== undefined && this.#isExpired(slot))) continue;
      entries.push([key, this.#entryAt(slot)]);
    }
    return { entries, next: slot >= end ? undefined : slot };
  }

  *keys(): IterableIterator<string> {
    for (const slot of this.#liveSlots()) yield this.#keys[slot]!;
  }

  *values(): IterableIterator<V> {
    for (const slot of this.#liveSlots()) yield this.#values[slot]!;
  }

  *entries(): IterableIterator<[string, V]> {
    for (const slot of this.#liveSlots()) yield [this.#keys[slot]!, this.#values[slot]!];
  }

  [Symbol.iterator](): IterableIterator<[string, V]> {
    return this.entries();
  }

  /**
   * Slots of the keys present when iteration starts, most recently used first, each looked up
   * again when its turn comes. Following the links instead would break as soon as the loop body
   * changed the cache: `clear` swaps in a fresh list, and a removed slot's link leads into the
   * free list or, once reused, back up the list. Keys removed or expired meanwhile are skipped,
   * keys added meanwhile are not visited, and a key's current value is the one yielded.
   */
  *#liveSlots(): Generator<number> {
    const list = this.#list;
    const keys: string[] = [];
    for (let slot = list.head; slot !== NONE; slot = list.nextOf(slot))
      keys.push(this.#keys[slot]!);
    for (const key of keys) {
      const slot = this.#map.get(key);
      if (slot === undefined) continue;
      if (this.#expiresAt === undefined || !this.#isExpired(slot)) yield slot;
    }
  }

  // ---------------------------------------------------------------- internals

  /** Slot of `key` if present and unexpired; an expired entry is reclaimed on the way. */
  #liveSlot(key: string): number {
    const slot = this.#map.get(key);
    if (slot === undefined) return NONE;
    if (this.#expiresAt !== undefined && this.#isExpired(slot)) {
      this.#remove(slot, 'expire');
      return NONE;
    }
    return slot;
  }

  #isExpired(slot: number): boolean {
    const at = this.#expiresAt![slot]!;
    return at !== 0 && at <= this.#now();
  }

  #entryAt(slot: number): CacheEntry<V> {
    const at = this.#expiresAt?.[slot] ?? 0;
    const accessedAt = this.#accessedAt;
    if (accessedAt === undefined) {
      return {
        value: this.#values[slot] as V,
        version: this.#versions[slot]!,
        ttl: at === 0 ? undefined : remainingMs(at, this.#now()),
      };
    }
    const now = this.#now();
    return {
      value: this.#values[slot] as V,
      version: this.#versions[slot]!,
      ttl: at === 0 ? undefined : remainingMs(at, now),
      readSinceWrite: this.#readFlags![slot] === 1,
      // An injected clock may step back; an access is never in the future.
      idleMs: Math.max(0, now - accessedAt[slot]!),
    };
  }

  /** Records a read of `slot` (only called with `trackAccess`). */
  #noteRead(slot: number): void {
    this.#accessedAt![slot] = this.#now();
    this.#readFlags![slot] = 1;
  }

  /** Accounted bytes of an entry; a bad `sizeOf` result throws before anything changes. */
  #measure(key: string, value: V): number {
    const sizeOf = this.#sizeOf;
    if (sizeOf === undefined) return entryBytes(key, defaultSizeOf(value));
    const bytes = sizeOf(value, key);
    if (typeof bytes !== 'number' || !Number.isFinite(bytes) || bytes < 0) {
      throw new TypeError(
        `LruCache: option sizeOf must return a finite number ≥ 0, got ${describe(bytes)} for key "${key}"`,
      );
    }
    // Whole bytes: sizes are stored in integer arrays, and a fraction lost there would make the
    // accounted total drift on every removal.
    return entryBytes(key, Math.ceil(bytes));
  }

  #refuse(): false {
    this.#stats.refusals++;
    return false;
  }

  /**
   * Stores an entry whose size is known to fit, into `slot` (an existing live entry of `key`) or a
   * new slot (NONE), evicting from the LRU end until both limits hold.
   */
  #write(
    key: string,
    value: V,
    size: number,
    expiresAt: number,
    slot: number,
    version: number,
    keepAccess = false,
  ): void {
    if (expiresAt !== 0) this.#installTtl();
    this.#stats.sets++;
    if (slot !== NONE) {
      if (this.#accessedAt !== undefined && !keepAccess) this.#noteWrite(slot);
      const old = this.#values[slot] as V;
      this.#values[slot] = value;
      this.#memoryUsed += size - this.#sizes[slot]!;
      this.#sizes[slot] = size;
      this.#versions[slot] = version;
      if (this.#expiresAt !== undefined) this.#expiresAt[slot] = expiresAt;
      this.#list.moveToHead(slot);
      // The entry is at the head, so eviction reaches it only if it is alone — and then it fits.
      while (this.#memoryUsed > this.#maxMemory) this.#evictTail();
      if (old !== value) this.#notify(key, old, 'overwrite');
      return;
    }
    while (this.#map.size >= this.#maxItems || this.#memoryUsed + size > this.#maxMemory) {
      this.#evictTail();
    }
    const fresh = this.#allocate();
    if (fresh === this.#keys.length) {
      this.#keys.push(key);
      this.#values.push(value);
    } else {
      this.#keys[fresh] = key;
      this.#values[fresh] = value;
    }
    this.#sizes[fresh] = size;
    this.#versions[fresh] = version;
    this.#memoryUsed += size;
    this.#list.pushHead(fresh);
    this.#map.set(key, fresh);
    if (this.#accessedAt !== undefined) this.#noteWrite(fresh);
    if (this.#expiresAt !== undefined) {
      this.#expiresAt[fresh] = expiresAt;
      this.#sweep(SWEEP_PER_WRITE);
    }
  }

  /** A write starts a fresh access record: written now, not read since (only with `trackAccess`). */
  #noteWrite(slot: number): void {
    this.#accessedAt![slot] = this.#now();
    this.#readFlags![slot] = 0;
  }

  #addToNumber(key: string, delta: number, method: string): number | undefined {
    const slot = this.#liveSlot(key);
    if (slot === NONE) return this.#settle(undefined);
    const current: unknown = this.#values[slot];
    if (typeof current !== 'number') {
      this.#settle();
      throw new NotNumericError(key, describe(current).split(' ')[0]!);
    }
    const next = current + delta;
    // Past ±(2^53 − 1) a double no longer holds every integer, so a counter there would silently
    // stick or skip (2^53 + 1 === 2^53). Fractions inside the range stay allowed. NaN fails too.
    if (!(
      Math.abs(current) <= Number.MAX_SAFE_INTEGER && Math.abs(next) <= Number.MAX_SAFE_INTEGER
    )) {
      this.#settle();
      throw new RangeError(
        `${method}: ${current} + ${delta} leaves the safe integer range ±${Number.MAX_SAFE_INTEGER}`,
      );
    }
    const size = this.#measure(key, next as V);
    if (size > this.#maxEntrySize) {
      this.#refuse();
      this.#settle();
      throw new RangeError(
        `${method}: the new value of "${key}" is larger than maxEntrySize/maxMemory allow`,
      );
    }
    this.#write(key, next as V, size, this.#expiresAt?.[slot] ?? 0, slot, ++this.#version);
    return this.#settle(next);
  }

  #evictTail(): void {
    const tail = this.#list.tail;
    const reason = this.#expiresAt !== undefined && this.#isExpired(tail) ? 'expire' : 'evict';
    this.#remove(tail, reason);
  }

  /** Unlinks and frees `slot`, counting an eviction or expiration (deletes are counted by delete). */
  #remove(slot: number, reason: EvictionReason): void {
    const key = this.#keys[slot]!;
    const value = this.#values[slot] as V;
    this.#map.delete(key);
    this.#list.release(slot);
    this.#memoryUsed -= this.#sizes[slot]!;
    this.#keys[slot] = undefined;
    this.#values[slot] = undefined;
    if (this.#expiresAt !== undefined) this.#expiresAt[slot] = 0;
    if (reason === 'evict') this.#stats.evictions++;
    else if (reason === 'expire') this.#stats.expirations++;
    this.#notify(key, value, reason);
  }

  #allocate(): number {
    const list = this.#list;
    const before = list.capacity;
    const slot = list.allocate();
    const capacity = list.capacity;
    if (capacity !== before) {
      this.#sizes = grown(this.#sizes, capacity);
      this.#versions = grown(this.#versions, capacity);
      if (this.#expiresAt !== undefined) this.#expiresAt = grown(this.#expiresAt, capacity);
      if (this.#accessedAt !== undefined) {
        this.#accessedAt = grown(this.#accessedAt, capacity);
        this.#readFlags = grown(this.#readFlags!, capacity);
      }
    }
    return slot;
  }

  #newSizes(capacity: number): Uint32Array | Float64Array {
    return this.#maxMemory <= 0xffff_ffff ? new Uint32Array(capacity) : new Float64Array(capacity);
  }

  /** First TTL seen: allocate the expiry array and start the background sweep. */
  #installTtl(): void {
    if (this.#expiresAt !== undefined) return;
    this.#expiresAt = new Float64Array(this.#list.capacity);
    if (this.#sweepInterval > 0 && this.#sweepTimer === undefined) {
      this.#sweepTimer = startSweeper(this, this.#sweepInterval, LruCache.#timerSweep);
    }
  }

  static #timerSweep<T>(cache: LruCache<T>): void {
    cache.#sweep(SWEEP_PER_TICK);
    try {
      cache.#settle();
    } catch (error) {
      // No caller to hand a throwing onEvict's error to, and a timer must never crash the process.
      process.emitWarning(
        `@dcache/core: onEvict threw during the background sweep: ${String(error)}`,
        {
          code: 'DCACHE_ON_EVICT_ERROR',
        },
      );
    }
  }

  /** Examines up to `budget` slots at the rotating cursor and reclaims the expired ones. */
  #sweep(budget: number): void {
    const at = this.#expiresAt;
    const used = this.#list.used;
    if (at === undefined || used === 0) return;
    const now = this.#now();
    let cursor = this.#sweepCursor;
    for (let n = Math.min(budget, used); n > 0; n--) {
      if (cursor >= used) cursor = 0;
      if (isExpired(at[cursor]!, now) && this.#keys[cursor] !== undefined) {
        this.#remove(cursor, 'expire');
      }
      cursor++;
    }
    this.#sweepCursor = cursor;
  }

  #notify(key: string, value: V, reason: EvictionReason): void {
    this.#evictQueue?.push(key, value, reason);
  }

  /** Delivers queued onEvict calls now that the operation is complete; returns `result`. */
  #settle<R>(result?: R): R {
    if (this.#evictQueue?.due === true) this.#evictQueue.flush();
    return result as R;
  }
}

function assertDelta(delta: unknown, method: string): asserts delta is number {
  if (typeof delta !== 'number') {
    throw new TypeError(`${method}: delta must be a number, got ${describe(delta)}`);
  }
  if (!Number.isFinite(delta)) {
    throw new RangeError(`${method}: delta must be a finite number, got ${delta}`);
  }
}

/**
 * What is left of a TTL, at most Number.MAX_SAFE_INTEGER: past 2^53 a sum `now + ttl` rounds to
 * an even number, so a TTL of 2^53−1 could read back one larger than any TTL a write accepts
 * (the server's and client's ceiling) — and be refused when written back (a read repair).
 */
function remainingMs(expiresAt: number, now: number): number {
  return Math.min(expiresAt - now, Number.MAX_SAFE_INTEGER);
}
