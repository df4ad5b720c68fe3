import type { CacheEntry, CacheStats, CompareAndSetResult, SetOptions } from '@dcache/core';
import type { StoredValue } from '../operations/stored-value.js';
import { NodeFlush } from '../operations/node-flush.js';
import { settlingCache } from '../operations/settling-cache.js';
import { ReplicaStore } from '../replication/replica-store.js';
import { EXPIRED } from './exptime.js';
import { keyBreaksLine, keyEchoFor, keyNeedsBase64 } from './keys.js';

const NO_BUMP = { keepAccess: true };

/**
 * The parts of @dcache/core's `LruCache<StoredValue>` the memcached front door uses. Declared
 * structurally so tests can hand in the real cache or anything shaped like it.
 */
export interface MemcachedCache {
  get(key: string): StoredValue | undefined;
  getEntry(key: string): CacheEntry<StoredValue> | undefined;
  peekEntry(key: string): CacheEntry<StoredValue> | undefined;
  /** The new version; undefined when refused. */
  set(key: string, value: StoredValue, options?: SetOptions): number | undefined;
  /** The new version; undefined when present or refused. */
  add(key: string, value: StoredValue, options?: SetOptions): number | undefined;
  /** The new version; undefined when absent or refused, the entry then kept. */
  replace(key: string, value: StoredValue, options?: SetOptions): number | undefined;
  compareAndSet(
    key: string,
    value: StoredValue,
    version: number,
    options?: SetOptions,
  ): CompareAndSetResult;
  touch(key: string, ttl: number, options?: Pick<SetOptions, 'keepAccess'>): boolean;
  delete(key: string): boolean;
  clear(): void;
  readonly stats: CacheStats;
}

/** Meta-protocol item state memcached keeps in item flags; see {@link ProtocolStore.marks}. */
export const MARK_STALE = 1;
export const MARK_TOKEN_SENT = 2;
/** Written by `ms` with a base64 (`b`) key: `mg k` then echoes the key base64-encoded. */
export const MARK_BINARY_KEY = 4;
/**
 * Written over this port with a key that {@link keyNeedsBase64} but that came raw on a text line:
 * echoed raw, as memcached does. Only such keys are marked, so ordinary keys cost no mark.
 */
export const MARK_RAW_KEY = 8;

/**
 * The cache as the memcached protocol sees it: TTLs already converted to milliseconds, with
 * {@link EXPIRED} meaning "gone at once" (the core has no such TTL), and `flush_all <delay>`.
 */
export class ProtocolStore {
  /**
   * Stale (`md I`) and win-token (`mg N`/`R`) marks, keyed by the stored value object. Every write
   * stores a new object, so a mark dies with the version it was set on — as memcached's item
   * flags do — and a WeakMap never holds an evicted value alive.
   */
  readonly marks = new WeakMap<StoredValue, number>();
  /**
   * The flush time `flush_all` sets: the node's own (its ReplicaStore's, shared with its HTTP side)
   * under CacheServer, so the latest flush request of either protocol wins.
   */
  readonly nodeFlush: NodeFlush;
  /** The cache, applying a due flush before each read or write (the store does, or a wrapper). */
  readonly cache: MemcachedCache;

  /** The flush time is this store's own (no node shares it): {@link close} drops it. */
  readonly #ownsFlush: boolean;

  /** `nodeFlush`: the flush time to share (a node's); a ReplicaStore brings its own. */
  constructor(cache: MemcachedCache, now: () => number, nodeFlush?: NodeFlush) {
    if (cache instanceof ReplicaStore) {
      this.nodeFlush = cache.flush;
      this.cache = cache;
    } else {
      this.nodeFlush = nodeFlush ?? new NodeFlush(() => cache.clear(), now);
      this.cache = settlingCache(cache, this.nodeFlush);
    }
    this.#ownsFlush = nodeFlush === undefined && !(cache instanceof ReplicaStore);
  }

  /** The listener closed: no flush after that, and no timer holding on to the cache. */
  close(): void {
    if (this.#ownsFlush) this.nodeFlush.cancel();
  }

  /**
   * Stores unconditionally; false when the core refused the entry (larger than the cache).
   * `inPlace`: memcached changes its item in place (`md I`, an incr that still fits), so the entry
   * keeps its access record (meta `h`/`l`).
   */
  set(key: string, value: StoredValue, ttlMs: number, inPlace = false): boolean {
    if (ttlMs === EXPIRED) {
      this.cache.delete(key);
      return true;
    }
    const options = inPlace ? { ttl: ttlMs, keepAccess: true } : { ttl: ttlMs };
    return this.cache.set(key, value, options) !== undefined;
  }

  /**
   * Stores over the entry the caller just read (replace, append, incr); false when the key is
   * absent or the core refused the entry, which then keeps its old value — as memcached's do, where
   * only a refused `set` drops it.
   */
  replace(key: string, value: StoredValue, ttlMs: number, inPlace = false): boolean {
    if (ttlMs === EXPIRED) return this.cache.delete(key);
    const options = inPlace ? { ttl: ttlMs, keepAccess: true } : { ttl: ttlMs };
    return this.cache.replace(key, value, options) !== undefined;
  }

  /** 'stored' | 'exists' (key present) | 'refused'. */
  add(key: string, value: StoredValue, ttlMs: number): 'stored' | 'exists' | 'refused' {
    if (ttlMs === EXPIRED) return this.cache.peekEntry(key) === undefined ? 'stored' : 'exists';
    if (this.cache.add(key, value, { ttl: ttlMs }) !== undefined) return 'stored';
    return this.cache.peekEntry(key) === undefined ? 'refused' : 'exists';
  }

  compareAndSet(
    key: string,
    value: StoredValue,
    version: number,
    ttlMs: number,
  ): CompareAndSetResult {
    // A CAS unique beyond 2^53 (casToVersion's -1) names no version the core ever issues.
    if (version < 0) return this.cache.peekEntry(key) === undefined ? 'not_found' : 'exists';
    const ttl = ttlMs === EXPIRED ? 0 : ttlMs;
    const result = this.cache.compareAndSet(key, value, version, { ttl });
    if (result === 'stored' && ttlMs === EXPIRED) this.cache.delete(key);
    return result;
  }

  /**
   * Sets a new TTL; an expired TTL removes the entry. False when the key is absent. It counts as a
   * read of the item (memcached's touch fetches it) unless `noBump` (meta `u`).
   */
  touch(key: string, ttlMs: number, noBump = false): boolean {
    if (ttlMs === EXPIRED) return this.cache.delete(key);
    return noBump ? this.cache.touch(key, ttlMs, NO_BUMP) : this.cache.touch(key, ttlMs);
  }

  hasMark(value: StoredValue, mark: number): boolean {
    return ((this.marks.get(value) ?? 0) & mark) !== 0;
  }

  /**
   * Keeps the key marks when `md I` rewrites a value: memcached changes that item in place but
   * clears its token-sent bit (so the next reader wins the recache) and sets the stale bit itself.
   */
  carryKeyMark(from: StoredValue, to: StoredValue): void {
    const marks = (this.marks.get(from) ?? 0) & (MARK_BINARY_KEY | MARK_RAW_KEY);
    if (marks !== 0) this.addMark(to, marks);
  }

  /**
   * Keeps every mark when an incr/decr/`ma` rewrites a number that still fits: memcached changes
   * that item in place (do_add_delta), so it stays stale and its win token stays handed out —
   * carrying only the key marks would give a second client `W` while the first still recaches.
   */
  carryInPlaceMarks(from: StoredValue, to: StoredValue): void {
    const marks = this.marks.get(from) ?? 0;
    if (marks !== 0) this.addMark(to, marks);
  }

  /**
   * Records how `k` is to echo the key of the item just stored under `key` over this port:
   * 'base64' (stored with a `b` key), 'raw' (the key came raw on a text line), or 'raw-if-safe'
   * (a `b` key memcached does not flag on the item it creates — mg N, ma N, a longer ma, an `ms`
   * append or prepend — so it echoes it raw; here only when that cannot break the reply line).
   * Costs a mark only when that changes the echo.
   */
  markKeyForm(key: string, form: 'base64' | 'raw' | 'raw-if-safe'): void {
    if (form !== 'base64' && !keyNeedsBase64(key)) return;
    if (form === 'raw-if-safe' && keyBreaksLine(key)) return;
    const value = this.cache.peekEntry(key)?.value;
    if (value !== undefined)
      this.addMark(value, form === 'base64' ? MARK_BINARY_KEY : MARK_RAW_KEY);
  }

  /**
   * How meta `k` echoes the key of an item: base64 when it was written with a `b` key (as
   * memcached), or when it holds bytes a reply line cannot carry raw and it was not written raw
   * over this port (an HTTP key with a space or a newline would otherwise break the framing).
   */
  keyEcho(key: string, value: StoredValue): string {
    const marks = this.marks.get(value) ?? 0;
    const binary =
      (marks & MARK_BINARY_KEY) !== 0 || ((marks & MARK_RAW_KEY) === 0 && keyNeedsBase64(key));
    return keyEchoFor(key, binary);
  }

  addMark(value: StoredValue, mark: number): void {
    this.marks.set(value, (this.marks.get(value) ?? 0) | mark);
  }
}
