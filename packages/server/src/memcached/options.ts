import type { MemcachedCache } from './store.js';

/** The memcached release whose text and meta protocols this port follows (checked against it). */
export const MEMCACHED_COMPATIBLE_VERSION = '1.6.18';

export interface MemcachedListenerOptions {
  /** The node's cache, shared with the HTTP API (an `LruCache<StoredValue>` from @dcache/core). */
  cache: MemcachedCache;
  /** Longest key in bytes. @default 250 (memcached's KEY_MAX_LENGTH) */
  maxKeyBytes?: number;
  /** Largest value in bytes; larger stores get "SERVER_ERROR object too large for cache". @default 1048576 */
  maxValueBytes?: number;
  /** Connections beyond this are refused with "ERROR Too many open connections". @default 1024 */
  maxConnections?: number;
  /** Close a connection idle for this many milliseconds; 0 = never. @default 0 */
  idleTimeoutMs?: number;
  /**
   * Reported by `version` and `stats`. Clients and tools gate features on it (libmemcached's
   * `memccapable` fails most tests otherwise), so the default is the memcached release whose
   * protocol this port follows; dcache's own version is `STAT dcache_version`. @default "1.6.18"
   */
  version?: string;
  /** Wall clock in ms for absolute exptimes and `stats`; pass the cache's clock in tests. @default Date.now */
  now?: () => number;
  /** On close, connections that have not closed after this many ms are destroyed. @default 2000 */
  closeTimeoutMs?: number;
  /**
   * Read every connection into one shared buffer through Node's `onread` (fewer allocations:
   * ~1.3× the requests per second). `false` uses ordinary 'data' events, which is also what
   * happens when the running Node does not allow the faster path. @default true
   */
  sharedReadBuffer?: boolean;
}

export type ResolvedMemcachedOptions = Required<MemcachedListenerOptions>;

function integer(name: string, value: unknown, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new TypeError(`memcached listener: ${name} must be an integer, got ${String(value)}`);
  }
  if (value < min) {
    throw new RangeError(`memcached listener: ${name} must be at least ${min}, got ${value}`);
  }
  return value;
}

/** Defaults and validation for every option, in one place. */
export function resolveOptions(options: MemcachedListenerOptions): ResolvedMemcachedOptions {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError('memcached listener: options must be an object');
  }
  const { cache } = options;
  if (typeof cache !== 'object' || cache === null || typeof cache.getEntry !== 'function') {
    throw new TypeError('memcached listener: cache must be an LruCache from @dcache/core');
  }
  const version = options.version ?? MEMCACHED_COMPATIBLE_VERSION;
  if (typeof version !== 'string' || version.length === 0 || /\s/.test(version)) {
    throw new TypeError(
      `memcached listener: version must be a non-empty string without spaces, got ${String(version)}`,
    );
  }
  const sharedReadBuffer = options.sharedReadBuffer ?? true;
  if (typeof sharedReadBuffer !== 'boolean') {
    throw new TypeError('memcached listener: sharedReadBuffer must be a boolean');
  }
  const now = options.now ?? Date.now;
  if (typeof now !== 'function') throw new TypeError('memcached listener: now must be a function');
  return {
    cache,
    maxKeyBytes: integer('maxKeyBytes', options.maxKeyBytes, 250, 1),
    maxValueBytes: integer('maxValueBytes', options.maxValueBytes, 1024 * 1024, 0),
    maxConnections: integer('maxConnections', options.maxConnections, 1024, 1),
    idleTimeoutMs: integer('idleTimeoutMs', options.idleTimeoutMs, 0, 0),
    version,
    now,
    closeTimeoutMs: integer('closeTimeoutMs', options.closeTimeoutMs, 2000, 0),
    sharedReadBuffer,
  };
}
