export { LruCache } from './lru-cache.js';
export { SingleFlight } from './single-flight.js';
export type { ScanPage } from './iteration.js';
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
export {
  DEFAULT_MAX_CLOCK_SKEW_MS,
  HybridClock,
  STAMPS_PER_MS,
  STAMP_EPOCH_MS,
  isStamp,
  stampAt,
  stampTime,
} from './hlc.js';
export type { HybridClockOptions } from './hlc.js';
export { FINGERPRINT_BITS, writeFingerprint } from './write-fingerprint.js';
