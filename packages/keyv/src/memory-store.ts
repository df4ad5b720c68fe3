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
  /**
   * Set by Keyv to its namespace. Keys Keyv hands over start with `namespace:`, unless Keyv was
   * made with `useKeyPrefix: false`.
   */
  namespace: string | undefined;
  /** The cache the entries live in. */
  readonly cache: LruCache<unknown>;
  /**
   * A key without the `namespace:` prefix was handed over: Keyv's `useKeyPrefix: false`, where no
   * key says its namespace, so clear() cannot pick a namespace's keys and empties the cache.
   */
  #bareKeys = false;

  /** An LruCache to wrap, or the options of one to make (at least `maxMemory` or `maxItems`). */
  constructor(cache: LruCache<unknown> | LruCacheOptions<unknown>) {
    this.cache = cache instanceof LruCache ? cache : new LruCache<unknown>(cache);
    this.opts = { dialect: 'dcache-memory' };
  }

  get(key: string): unknown {
    this.#note(key);
    return this.cache.get(key);
  }

  /** False when the cache refused the entry (bigger than `maxEntrySize`). */
  set(key: string, value: unknown, ttl?: number): boolean {
    // Keyv's ttl may be fractional; LruCache takes whole milliseconds, 0 meaning never. Infinity
    // (never) and NaN (none given) are read as the cluster store reads them, so both tiers agree.
    this.#note(key);
    return this.cache.set(key, value, ttlOf(ttl)) !== undefined;
  }

  delete(key: string): boolean {
    this.#note(key);
    return this.cache.delete(key);
  }

  has(key: string): boolean {
    this.#note(key);
    return this.cache.has(key);
  }

  /**
   * Empties this store's namespace only: the keys starting with `namespace:`. Every entry when it
   * has no namespace, or when Keyv hands over bare keys (`useKeyPrefix: false`), as Keyv's own Map
   * store does.
   */
  clear(): void {
    if (!this.namespace || this.#bareKeys) {
      this.cache.clear();
      return;
    }
    const prefix = `${this.namespace}:`;
    const doomed: string[] = [];
    for (const key of this.cache.keys()) if (key.startsWith(prefix)) doomed.push(key);
    for (const key of doomed) this.cache.delete(key);
  }

  #note(key: string): void {
    const namespace = this.namespace;
    if (this.#bareKeys || !namespace) return;
    // charCodeAt first: the common prefixed key costs one comparison more than a startsWith.
    if (key.charCodeAt(namespace.length) !== 0x3a || !key.startsWith(namespace)) {
      this.#bareKeys = true;
    }
  }
}
