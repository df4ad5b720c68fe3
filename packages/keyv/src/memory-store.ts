import { LruCache } from '@dcache/core';
import type { LruCacheOptions } from '@dcache/core';
import { ttlOf } from './ttl.js';

/**
 * `@dcache/core`'s LruCache as a Keyv store for the in-process tier. LruCache is almost Map-like,
 * but Keyv calls `set(key, value, ttl)` with a number where LruCache takes `{ ttl }`, and clears
 * by namespace: this wrapper adapts both.
 */
export class DcacheMemoryStore {
  readonly opts: { dialect: 'dcache-memory' };
  /** Set by Keyv to its namespace; keys Keyv hands over already start with `namespace:`. */
  namespace: string | undefined;
  /** The cache the entries live in. */
  readonly cache: LruCache<unknown>;

  /** An LruCache to wrap, or the options of one to make (at least `maxMemory` or `maxItems`). */
  constructor(cache: LruCache<unknown> | LruCacheOptions<unknown>) {
    this.cache = cache instanceof LruCache ? cache : new LruCache<unknown>(cache);
    this.opts = { dialect: 'dcache-memory' };
  }

  get(key: string): unknown {
    return this.cache.get(key);
  }

  /** False when the cache refused the entry (bigger than `maxEntrySize`). */
  set(key: string, value: unknown, ttl?: number): boolean {
    // Keyv's ttl may be fractional; LruCache takes whole milliseconds, 0 meaning never. Infinity
    // (never) and NaN (none given) are read as the cluster store reads them, so both tiers agree.
    return this.cache.set(key, value, ttlOf(ttl)) !== undefined;
  }

  delete(key: string): boolean {
    return this.cache.delete(key);
  }

  has(key: string): boolean {
    return this.cache.has(key);
  }

  /** Empties this store's namespace only (every entry when it has none). */
  clear(): void {
    if (!this.namespace) {
      this.cache.clear();
      return;
    }
    const prefix = `${this.namespace}:`;
    const doomed: string[] = [];
    for (const key of this.cache.keys()) if (key.startsWith(prefix)) doomed.push(key);
    for (const key of doomed) this.cache.delete(key);
  }
}
