/**
 * LruCache: an in-process LRU cache with TTLs, a byte-accounted memory limit, versioned
 * (compare-and-set) writes, counters and single-flight loading.
 *
 * This class holds the rules — limits, eviction, expiry checks, stats, notifications — and
 * delegates storage to modules, one concept each: the slot store (slot-store.ts, with the key index
 * and the recency list), expiry times and the sweep (expiry.ts), access records (access-record.ts),
 * snapshots (snapshot.ts), single-flight loads (single-flight.ts) and iteration (iteration.ts).
 * A get hit looks the key up, rewires two integers and allocates nothing.
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
import { measureEntry } from './meter.js';
import { SlotStore, NONE } from './slot-store.js';
import { StatsCounters } from './stats.js';
import { SingleFlight } from './single-flight.js';
import {
  Expiry,
  SWEEP_PER_TICK,
  SWEEP_PER_WRITE,
  expiryFor,
  remainingMs,
  startSweeper,
} from './expiry.js';
import { AccessRecord } from './access-record.js';
import { EvictQueue } from './evict-queue.js';
import { dump, planLoad } from './snapshot.js';
import { liveSlots, scan, type ScanPage } from './iteration.js';
import { addToCount, assertDelta } from './counter.js';

export class LruCache<V> {
  readonly #maxMemory: number;
  /** The largest entry stored: `maxEntrySize`, never more than `maxMemory`. */
  readonly #maxEntrySize: number;
  readonly #maxItems: number;
  readonly #defaultTtl: number;
  readonly #sizeOf: ((value: V, key: string) => number) | undefined;
  readonly #now: () => number;
  readonly #sweepInterval: number;

  readonly #store: SlotStore<V>;
  /** Present once the first TTL is used. */
  #expiry: Expiry | undefined;
  /** Present only with `trackAccess`. */
  readonly #access: AccessRecord | undefined;
  #sweepTimer: ReturnType<typeof setInterval> | undefined;
  #version = 0;
  readonly #stats = new StatsCounters();
  #flights: SingleFlight<V> | undefined;
  /** Present only with an onEvict option. */
  readonly #evictQueue: EvictQueue<V> | undefined;
  /** `#remove(slot, 'expire')`, bound once for the sweep. */
  readonly #reclaim = (slot: number): void => this.#remove(slot, 'expire');

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
    this.#store = new SlotStore<V>(this.#maxItems, this.#maxMemory);
    if (resolved.trackAccess) {
      this.#access = new AccessRecord(this.#store.capacity);
      this.#store.attach(this.#access);
    }
  }

  /** Entries held, including expired ones not yet reclaimed. */
  get size(): number {
    return this.#store.size;
  }

  /** Accounted bytes currently held (see README "Memory meter"). */
  get memoryUsed(): number {
    return this.#store.memoryUsed;
  }

  /** The memory limit in bytes; Infinity when only `maxItems` bounds the cache. */
  get maxMemory(): number {
    return this.#maxMemory;
  }

  /** The item limit; 2^24 (what the key index can address) when only `maxMemory` bounds it. */
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
    return this.#stats.snapshot(this.#store.size, this.#store.memoryUsed, this.#maxMemory);
  }

  resetStats(): void {
    this.#stats.reset();
  }

  // ---------------------------------------------------------------- reads

  /** The value of `key`, promoting it to most recently used; counts a hit or a miss. */
  get(key: string): V | undefined {
    assertKey(key, 'get');
    const store = this.#store;
    const slot = store.slotOf(key);
    if (slot === NONE) {
      this.#stats.misses++;
      return undefined;
    }
    const expiry = this.#expiry;
    if (expiry !== undefined) {
      const at = expiry.at[slot]!;
      if (at !== 0 && at <= this.#now()) {
        this.#remove(slot, 'expire');
        this.#stats.misses++;
        this.#settle();
        return undefined;
      }
    }
    this.#stats.hits++;
    store.list.moveToHead(slot);
    if (this.#access !== undefined) this.#access.noteRead(slot, this.#now());
    return store.values[slot];
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
    this.#store.list.moveToHead(slot);
    // The entry reports the access record as it was before this read.
    const entry = this.#entryAt(slot);
    if (this.#access !== undefined) this.#access.noteRead(slot, this.#now());
    return entry;
  }

  /** The value of `key` without promoting it or counting a hit/miss. */
  peek(key: string): V | undefined {
    assertKey(key, 'peek');
    const slot = this.#liveSlot(key);
    return slot === NONE ? this.#settle(undefined) : this.#store.values[slot];
  }

  /** Like `peek`, with version and remaining TTL. */
  peekEntry(key: string): CacheEntry<V> | undefined {
    assertKey(key, 'peekEntry');
    const slot = this.#liveSlot(key);
    return slot === NONE ? this.#settle(undefined) : this.#entryAt(slot);
  }

  /**
   * The version of `key`'s unexpired entry, as `peekEntry(key)?.version` reads it, without making
   * an entry object: for a caller that has the value from `get` and checks its version only now
   * and then.
   */
  versionOf(key: string): number | undefined {
    assertKey(key, 'versionOf');
    const slot = this.#liveSlot(key);
    return slot === NONE ? this.#settle(undefined) : this.#store.versions[slot];
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
    const at = this.#expiry?.at[slot] ?? 0;
    return at === 0 ? Infinity : remainingMs(at, this.#now());
  }

  // ---------------------------------------------------------------- writes

  /**
   * Stores `value` under `key` as most recently used and returns the entry's new version (what
   * `getEntry` would report, for `compareAndSet`). Returns undefined (and counts a refusal) when
   * the entry alone is larger than `maxEntrySize` or `maxMemory`; the key's old entry is then
   * removed (onEvict 'overwrite'), as lru-cache and memcached do: the caller meant to replace it,
   * and a read must not return it after the write failed. Nothing else changes.
   * A version is never 0, so the result reads as the boolean it used to be.
   */
  set(key: string, value: V, options?: SetOptions): number | undefined {
    assertKey(key, 'set');
    const ttl = resolveTtl(options, this.#defaultTtl, 'set');
    const keep = keepAccessOf(options, 'set');
    const size = measureEntry(this.#sizeOf, key, value);
    const slot = this.#liveSlot(key);
    if (size > this.#maxEntrySize) {
      if (slot !== NONE) this.#remove(slot, 'overwrite');
      // A load under way read what this write meant to replace: it must not be stored either.
      this.#flights?.invalidate(key);
      return this.#settle(this.#refuse());
    }
    const version = ++this.#version;
    this.#write(key, value, size, expiryFor(ttl, this.#now), slot, version, keep);
    this.#settle();
    return version;
  }

  /**
   * `set` only if `key` is absent (or expired): the new version, or undefined when the key is
   * present or the entry is refused (`has(key)` tells which).
   */
  add(key: string, value: V, options?: SetOptions): number | undefined {
    assertKey(key, 'add');
    const ttl = resolveTtl(options, this.#defaultTtl, 'add');
    const size = measureEntry(this.#sizeOf, key, value);
    const slot = this.#liveSlot(key);
    if (slot !== NONE) return this.#settle(undefined);
    if (size > this.#maxEntrySize) return this.#settle(this.#refuse());
    const version = ++this.#version;
    this.#write(key, value, size, expiryFor(ttl, this.#now), NONE, version);
    return this.#settle(version);
  }

  /**
   * `set` only if `key` is present: the new version, or undefined when the key is absent or the
   * entry is refused (`has(key)` tells which).
   */
  replace(key: string, value: V, options?: SetOptions): number | undefined {
    assertKey(key, 'replace');
    const ttl = resolveTtl(options, this.#defaultTtl, 'replace');
    const keep = keepAccessOf(options, 'replace');
    const size = measureEntry(this.#sizeOf, key, value);
    const slot = this.#liveSlot(key);
    if (slot === NONE) return this.#settle(undefined);
    if (size > this.#maxEntrySize) return this.#settle(this.#refuse());
    const version = ++this.#version;
    this.#write(key, value, size, expiryFor(ttl, this.#now), slot, version, keep);
    return this.#settle(version);
  }

  /**
   * Stores `value` only if `key` is present with exactly `version` (from `getEntry`/`peekEntry`).
   * 'not_found': absent or expired; 'exists': written since; 'refused': too large. After 'stored',
   * `lastVersion` is the entry's new version until the next write.
   */
  compareAndSet(key: string, value: V, version: number, options?: SetOptions): CompareAndSetResult {
    assertKey(key, 'compareAndSet');
    if (typeof version !== 'number') {
      throw new TypeError(`compareAndSet: version must be a number, got ${describe(version)}`);
    }
    // Versions are whole numbers from 1 up: anything else is a caller's bug, not a changed entry.
    if (!Number.isSafeInteger(version) || version < 0) {
      throw new RangeError(
        `compareAndSet: version must be an integer from 0 to 2^53 - 1, got ${describe(version)}`,
      );
    }
    const ttl = resolveTtl(options, this.#defaultTtl, 'compareAndSet');
    const keep = keepAccessOf(options, 'compareAndSet');
    const size = measureEntry(this.#sizeOf, key, value);
    const slot = this.#liveSlot(key);
    let result: CompareAndSetResult;
    if (slot === NONE) result = 'not_found';
    else if (this.#store.versions[slot] !== version) result = 'exists';
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
    if (this.#expiry !== undefined) this.#expiry.at[slot] = expiryFor(ttl, this.#now);
    this.#store.list.moveToHead(slot);
    if (this.#access !== undefined && !keep) this.#access.noteRead(slot, this.#now());
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
    const store = this.#store;
    this.#stats.deletes += store.size;
    if (this.#evictQueue !== undefined) {
      for (let s = store.list.head; s !== NONE; s = store.list.nextOf(s)) {
        this.#notify(store.keyAt(s), store.values[s]!, 'delete');
      }
    }
    store.clear();
  }

  /**
   * The value of `key`, or else the value `loader` produces, stored with `ttl`. Concurrent calls
   * for the same missing key share one loader call. A loader that throws or rejects stores nothing
   * and rejects every waiter; one that returns undefined resolves every waiter to it and stores
   * nothing, so the next call loads again. A write to the key while loading wins over the loaded
   * value (it is newer); a `delete` of the key or a `clear` while loading means the loader may
   * have read data that is now stale, so the loaded value goes to the waiters but is not stored
   * (and later calls start a fresh load); an eviction of the key while loading does not cancel
   * the load.
   */
  getOrSet(key: string, loader: Loader<V>, options?: SetOptions): Promise<V> {
    assertKey(key, 'getOrSet');
    assertFunction(loader, 'getOrSet: loader');
    const ttl = resolveTtl(options, this.#defaultTtl, 'getOrSet');
    const slot = this.#liveSlot(key);
    if (slot !== NONE) {
      this.#stats.hits++;
      this.#store.list.moveToHead(slot);
      if (this.#access !== undefined) this.#access.noteRead(slot, this.#now());
      const value = this.#store.values[slot] as V;
      this.#settle();
      return Promise.resolve(value);
    }
    this.#stats.misses++;
    try {
      this.#settle();
    } catch (error) {
      // A throwing onEvict (the expired entry of `key` was reclaimed on the way): rejected, as
      // every failure of a method returning a promise, and no load starts.
      return Promise.reject(error as Error);
    }
    this.#flights ??= new SingleFlight<V>();
    return this.#flights.run(key, async (isStale) => {
      const value = await loader(key);
      // The key was absent when the load began, so a live entry now was written meanwhile: keep it.
      // undefined is not stored, as by lru-cache's fetch: it would read back as a miss to a get,
      // yet keep the next getOrSet from loading again (a "not found" cached for good).
      if (value !== undefined && !isStale() && this.#liveSlot(key) === NONE) {
        const size = measureEntry(this.#sizeOf, key, value);
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
    this.#sweep(this.#store.list.used);
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
    const expiry = this.#expiry;
    return dump(this.#store, expiry, expiry === undefined ? 0 : this.#now());
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
    // Checked and measured before anything changes: a malformed entry or a bad sizeOf result throws.
    const plan = planLoad(entries, options, this.#version, (key, value: V) =>
      measureEntry(this.#sizeOf, key, value),
    );
    this.#clear();
    const { keys, values, sizes, ttls, versions } = plan;
    for (let i = 0; i < keys.length; i++) {
      const size = sizes[i]!;
      if (size > this.#maxEntrySize) {
        this.#refuse();
        continue;
      }
      this.#write(keys[i]!, values[i]!, size, expiryFor(ttls[i]!, this.#now), NONE, versions[i]!);
    }
    this.#version = plan.lastVersion;
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
  scan(cursor: number, limit: number): ScanPage<V> {
    return scan(this.#store, this.#expiry, this.#now, cursor, limit, (slot) => this.#entryAt(slot));
  }

  *keys(): IterableIterator<string> {
    for (const slot of this.#liveSlots()) yield this.#store.keyAt(slot);
  }

  *values(): IterableIterator<V> {
    for (const slot of this.#liveSlots()) yield this.#store.values[slot]!;
  }

  *entries(): IterableIterator<[string, V]> {
    for (const slot of this.#liveSlots())
      yield [this.#store.keyAt(slot), this.#store.values[slot]!];
  }

  [Symbol.iterator](): IterableIterator<[string, V]> {
    return this.entries();
  }

  #liveSlots(): Generator<number> {
    return liveSlots(this.#store, () => this.#expiry, this.#now);
  }

  // ---------------------------------------------------------------- internals

  /** Slot of `key` if present and unexpired; an expired entry is reclaimed on the way. */
  #liveSlot(key: string): number {
    const slot = this.#store.slotOf(key);
    if (slot === NONE) return NONE;
    if (this.#expiry !== undefined && this.#expiry.isExpired(slot, this.#now())) {
      this.#remove(slot, 'expire');
      return NONE;
    }
    return slot;
  }

  #entryAt(slot: number): CacheEntry<V> {
    const store = this.#store;
    const at = this.#expiry?.at[slot] ?? 0;
    const access = this.#access;
    if (access === undefined) {
      return {
        value: store.values[slot] as V,
        version: store.versions[slot]!,
        ttl: at === 0 ? undefined : remainingMs(at, this.#now()),
      };
    }
    const now = this.#now();
    return {
      value: store.values[slot] as V,
      version: store.versions[slot]!,
      ttl: at === 0 ? undefined : remainingMs(at, now),
      readSinceWrite: access.readSinceWrite(slot),
      idleMs: access.idleMs(slot, now),
    };
  }

  #refuse(): undefined {
    this.#stats.refusals++;
    return undefined;
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
    const store = this.#store;
    if (slot !== NONE) {
      if (this.#access !== undefined && !keepAccess) this.#access.noteWrite(slot, this.#now());
      const old = store.overwrite(slot, value, size, version);
      if (this.#expiry !== undefined) this.#expiry.at[slot] = expiresAt;
      // The entry is at the head, so eviction reaches it only if it is alone — and then it fits.
      while (store.memoryUsed > this.#maxMemory) this.#evictTail();
      if (old !== value) this.#notify(key, old, 'overwrite');
      return;
    }
    while (store.size >= this.#maxItems || store.memoryUsed + size > this.#maxMemory) {
      this.#evictTail();
    }
    const fresh = store.insert(key, value, size, version);
    if (this.#access !== undefined) this.#access.noteWrite(fresh, this.#now());
    if (this.#expiry !== undefined) {
      this.#expiry.at[fresh] = expiresAt;
      this.#sweep(SWEEP_PER_WRITE);
    }
  }

  #addToNumber(key: string, delta: number, method: string): number | undefined {
    const slot = this.#liveSlot(key);
    if (slot === NONE) return this.#settle(undefined);
    let next: number;
    try {
      next = addToCount(key, this.#store.values[slot], delta, method);
    } catch (error) {
      this.#settle();
      throw error;
    }
    const size = measureEntry(this.#sizeOf, key, next as V);
    if (size > this.#maxEntrySize) {
      this.#refuse();
      this.#settle();
      throw new RangeError(
        `${method}: the new value of "${key}" is larger than maxEntrySize/maxMemory allow`,
      );
    }
    const expiresAt = this.#expiry?.at[slot] ?? 0;
    this.#write(key, next as V, size, expiresAt, slot, ++this.#version);
    return this.#settle(next);
  }

  #evictTail(): void {
    const tail = this.#store.list.tail;
    const expiry = this.#expiry;
    const reason = expiry !== undefined && expiry.isExpired(tail, this.#now()) ? 'expire' : 'evict';
    this.#remove(tail, reason);
  }

  /** Unlinks and frees `slot`, counting an eviction or expiration (deletes are counted by delete). */
  #remove(slot: number, reason: EvictionReason): void {
    const store = this.#store;
    const key = store.keyAt(slot);
    const value = store.values[slot] as V;
    store.remove(slot);
    if (this.#expiry !== undefined) this.#expiry.at[slot] = 0;
    if (reason === 'evict') this.#stats.evictions++;
    else if (reason === 'expire') this.#stats.expirations++;
    this.#notify(key, value, reason);
  }

  /** First TTL seen: attach the expiry column and start the background sweep. */
  #installTtl(): void {
    if (this.#expiry !== undefined) return;
    this.#expiry = new Expiry(this.#store.capacity);
    this.#store.attach(this.#expiry);
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
        { code: 'DCACHE_ON_EVICT_ERROR' },
      );
    }
  }

  /** Reclaims the expired entries among up to `budget` slots at the sweep's cursor. */
  #sweep(budget: number): void {
    const expiry = this.#expiry;
    if (expiry === undefined) return;
    const store = this.#store;
    expiry.sweep(budget, store.list.used, this.#now(), store.index.keys, this.#reclaim);
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
