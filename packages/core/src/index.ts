export { LruCache } from './lru-cache.js';
export { SingleFlight } from './single-flight.js';
export type {
  CacheEntry,
  CacheStats,
  CompareAndSetResult,
  DumpEntry,
  DumpRecord,
  EvictionReason,
  LoadOptions,
  Loader,
  LruCacheOptions,
  SetOptions,
} from './types.js';
export { DcacheError, isDcacheError } from './errors/dcache-error.js';
export { NotNumericError, isNotNumericError } from './errors/not-numeric-error.js';
export { ENTRY_OVERHEAD } from './meter.js';
export { defaultSizeOf, heapStringBytes } from './size-of.js';
export { COARSE_CLOCK_RESOLUTION_MS } from './clock.js';
