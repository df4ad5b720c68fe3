/**
 * Snapshots: `dump` turns the slot store into plain `[key, record]` data, and `planLoad` turns a
 * checked snapshot into the entries and versions `load` writes (the cache does the writing, so
 * that limits, evictions and notifications work as for `set`).
 */
import type { DumpEntry, DumpRecord, LoadOptions } from './types.js';
import type { SlotStore } from './slot-store.js';
import { NONE } from './slot-store.js';
import type { Expiry } from './expiry.js';
import { isExpired, remainingMs } from './expiry.js';
import { parseSnapshot, VERSION_CEILING } from './snapshot-parse.js';

/**
 * Every unexpired entry, least recently used first (lru-cache's order), with its TTL left at `now`
 * (one reading for all entries: their TTLs are left at the same instant).
 */
export function dump<V>(
  store: SlotStore<V>,
  expiry: Expiry | undefined,
  now: number,
): DumpEntry<V>[] {
  const dumped: DumpEntry<V>[] = [];
  const list = store.list;
  const values = store.values;
  const keys = store.index.keys;
  const expiresAt = expiry?.at;
  for (let slot = list.head; slot !== NONE; slot = list.nextOf(slot)) {
    const value = values[slot];
    const at = expiresAt === undefined ? 0 : expiresAt[slot]!;
    // An undefined value cannot be told from a miss and does not survive JSON (as in lru-cache).
    if (value === undefined || isExpired(at, now)) continue;
    const version = store.versions[slot]!;
    // Whole literals: two fixed shapes, built faster than by adding properties one by one.
    const record: DumpRecord<V> =
      at === 0 ? { value, version } : { value, ttl: remainingMs(at, now), version };
    dumped.push([keys[slot]!, record]);
  }
  return dumped.reverse();
}

/** What `load` writes, in order: entry i is keys[i] → values[i], with its size, TTL and version. */
export interface LoadPlan<V> {
  keys: string[];
  values: V[];
  sizes: Float64Array;
  /** TTL left, ms; 0 = never expire. */
  ttls: Float64Array;
  versions: Float64Array;
  /** The cache's last version after the load. */
  lastVersion: number;
}

/**
 * Checks `entries` and works out the versions (see `LruCache.load`); throws before the cache
 * changes. `measure` gives an entry's accounted size (and throws on a bad `sizeOf` result).
 */
export function planLoad<V>(
  entries: readonly DumpEntry<V>[],
  options: LoadOptions | undefined,
  lastVersion: number,
  measure: (key: string, value: V) => number,
): LoadPlan<V> {
  const { keys, values, ttls, versions, maxVersion, minVersion, unversioned, floor } =
    parseSnapshot<V>(entries, options);
  const sizes = new Float64Array(keys.length);
  for (let i = 0; i < keys.length; i++) sizes[i] = measure(keys[i]!, values[i]!);
  const above = Math.max(lastVersion, floor);
  const shift = minVersion === 0 ? 0 : Math.max(0, above + 1 - minVersion);
  if (Math.max(above, maxVersion + shift) + unversioned > VERSION_CEILING) {
    throw new RangeError(
      `load: versions up to ${maxVersion}, above this cache's ${above}, would pass 2^52 (room for 2^52 more writes must remain)`,
    );
  }
  let last = Math.max(above, maxVersion + shift);
  for (let i = 0; i < keys.length; i++) {
    versions[i] = versions[i] === 0 ? ++last : versions[i]! + shift;
  }
  return { keys, values, sizes, ttls, versions, lastVersion: last };
}
