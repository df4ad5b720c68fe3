/**
 * The memory meter: what one entry costs in accounted bytes.
 *
 * entry bytes = the key's character bytes (`heapStringBytes`) + the value's size (`sizeOf` or the
 *               built-in estimate)
 *             + ENTRY_OVERHEAD.
 *
 * ENTRY_OVERHEAD is the measured real heap cost of an entry beyond its key and value payloads: the
 * key string's V8 header, the Map entry and its share of the hash table, the key/value array slots
 * and the typed-array link/size/version/expiry slots. It was measured with bench/run.js (section
 * "accounted vs real heap") on Node 20, 64-bit; see README.md.
 */
import { heapStringBytes } from './size-of.js';

export const ENTRY_OVERHEAD = 112;

export function entryBytes(key: string, valueBytes: number): number {
  return heapStringBytes(key) + valueBytes + ENTRY_OVERHEAD;
}
