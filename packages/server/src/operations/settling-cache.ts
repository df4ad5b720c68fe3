import type { MemcachedCache } from '../memcached/store.js';
import type { NodeFlush } from './node-flush.js';

/**
 * A plain cache (a memcached listener's own, outside a CacheServer) that applies a due delayed
 * flush before each read or write, as `ReplicaStore` does for a node's: the one place the flush
 * time is checked, so no command has to remember it.
 */
export function settlingCache(cache: MemcachedCache, flush: NodeFlush): MemcachedCache {
  return {
    get(key) {
      flush.settle();
      return cache.get(key);
    },
    getEntry(key) {
      flush.settle();
      return cache.getEntry(key);
    },
    peekEntry(key) {
      flush.settle();
      return cache.peekEntry(key);
    },
    set(key, value, options) {
      flush.settle();
      return cache.set(key, value, options);
    },
    add(key, value, options) {
      flush.settle();
      return cache.add(key, value, options);
    },
    replace(key, value, options) {
      flush.settle();
      return cache.replace(key, value, options);
    },
    compareAndSet(key, value, version, options) {
      flush.settle();
      return cache.compareAndSet(key, value, version, options);
    },
    touch(key, ttl, options) {
      flush.settle();
      return cache.touch(key, ttl, options);
    },
    delete(key) {
      flush.settle();
      return cache.delete(key);
    },
    clear() {
      cache.clear();
    },
    get stats() {
      flush.settle();
      return cache.stats;
    },
  };
}
