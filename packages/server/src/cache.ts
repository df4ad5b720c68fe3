import { LruCache } from '@dcache/core';
import type { LruCacheOptions } from '@dcache/core';
import type { ResolvedOptions } from './options.js';
import type { StoredValue } from './stored-value.js';

/** Accounted per value beyond its bytes: the StoredValue record and its flags. */
export const STORED_VALUE_OVERHEAD_BYTES = 16;

function sizeOf(value: StoredValue): number {
  return value.bytes.length + STORED_VALUE_OVERHEAD_BYTES;
}

/** The node's cache, shared by the HTTP routes and the memcached listener. */
export function createCache(options: ResolvedOptions): LruCache<StoredValue> {
  const cacheOptions: LruCacheOptions<StoredValue> = {
    maxMemory: options.maxMemory,
    defaultTtl: options.defaultTtl,
    sizeOf,
    // memcached's meta `h`/`l` flags report each item's reads, whichever door made them.
    trackAccess: options.memcachedPort !== undefined,
  };
  if (options.maxItems !== undefined) cacheOptions.maxItems = options.maxItems;
  if (options.now !== undefined) cacheOptions.now = options.now;
  return new LruCache<StoredValue>(cacheOptions);
}
