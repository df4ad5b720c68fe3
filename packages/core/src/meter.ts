/**
 * The memory meter: what one entry costs in accounted bytes.
 *
 * entry bytes = the key's character bytes (`heapStringBytes`) + the value's size (`sizeOf` or the
 *               built-in estimate)
 *             + ENTRY_OVERHEAD.
 *
 * ENTRY_OVERHEAD is the measured real heap cost of an entry beyond its key and value payloads: the
 * key string's V8 header, the key/value array slots, the key index's cell and hash, and the
 * typed-array link/size/version/expiry slots. It was measured with bench/run.js (section
 * "accounted vs real heap") on Node 20, 64-bit; see README.md.
 */
import { defaultSizeOf, heapStringBytes } from './size-of.js';
import { describe } from './validate.js';

export const ENTRY_OVERHEAD = 88;

export function entryBytes(key: string, valueBytes: number): number {
  return heapStringBytes(key) + valueBytes + ENTRY_OVERHEAD;
}

/**
 * Accounted bytes of an entry, with the cache's `sizeOf` option if it has one; a bad `sizeOf`
 * result throws (before the cache changes).
 */
export function measureEntry<V>(
  sizeOf: ((value: V, key: string) => number) | undefined,
  key: string,
  value: V,
): number {
  if (sizeOf === undefined) return entryBytes(key, defaultSizeOf(value));
  const bytes = sizeOf(value, key);
  if (typeof bytes !== 'number' || !Number.isFinite(bytes) || bytes < 0) {
    throw new TypeError(
      `LruCache: option sizeOf must return a finite number ≥ 0, got ${describe(bytes)} for key "${key}"`,
    );
  }
  // Whole bytes: sizes are stored in integer arrays, and a fraction lost there would make the
  // accounted total drift on every removal.
  return entryBytes(key, Math.ceil(bytes));
}
