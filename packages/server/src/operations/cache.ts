import { LruCache } from '@dcache/core';
import type { LruCacheOptions } from '@dcache/core';
import type { ResolvedOptions } from '../options.js';
import { ReplicaStore } from '../replication/replica-store.js';
import type { ReplicaStoreOptions } from '../replication/replica-store.js';
import { valueLength } from './stored-value.js';
import type { StoredValue } from './stored-value.js';

/** Accounted per value beyond its bytes: the StoredValue record, its flags and stamp. */
export const STORED_VALUE_OVERHEAD_BYTES = 16;

function sizeOf(value: StoredValue): number {
  return valueLength(value) + STORED_VALUE_OVERHEAD_BYTES;
}

type CacheLimits = Pick<ResolvedOptions, 'maxMemory' | 'maxItems' | 'defaultTtl' | 'now'> & {
  readonly memcachedPort?: number | undefined;
};

/**
 * The node's store: its cache, shared by the HTTP routes and the memcached listener, behind the
 * one ReplicaStore every door writes through. The cache reports what leaves it to the store, which
 * counts tombstones and notices one evicted early.
 */
export function createReplicaStore(
  options: CacheLimits,
  replicaOptions: ReplicaStoreOptions,
): ReplicaStore {
  const cacheOptions: LruCacheOptions<StoredValue> = {
    maxMemory: options.maxMemory,
    defaultTtl: options.defaultTtl,
    sizeOf,
    // memcached's meta `h`/`l` flags report each item's reads, whichever door made them.
    trackAccess: options.memcachedPort !== undefined,
    // Called only once entries exist, so after `store` below is assigned.
    onEvict: (key, value, reason) => store.evicted(key, value, reason),
  };
  if (options.maxItems !== undefined) cacheOptions.maxItems = options.maxItems;
  if (options.now !== undefined) cacheOptions.now = options.now;
  const store = new ReplicaStore(new LruCache<StoredValue>(cacheOptions), {
    ...(options.now === undefined ? {} : { now: options.now }),
    ...replicaOptions,
  });
  return store;
}
