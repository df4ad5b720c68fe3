/**
 * Walking the cache: `scan` pages through slots by index (Redis' SCAN), `liveSlots` follows the
 * recency order. Neither promotes an entry or counts a hit or miss.
 */
import type { CacheEntry } from './types.js';
import type { SlotStore } from './slot-store.js';
import { NONE } from './slot-store.js';
import type { Expiry } from './expiry.js';
import { describe } from './validate.js';

export interface ScanPage<V> {
  entries: [key: string, entry: CacheEntry<V>][];
  /** The cursor to continue from; undefined once the scan is done. */
  next: number | undefined;
}

/** Up to `limit` live entries from slot `cursor` on, looking at no more than `limit × 8` slots. */
export function scan<V>(
  store: SlotStore<V>,
  expiry: Expiry | undefined,
  now: () => number,
  cursor: number,
  limit: number,
  entryAt: (slot: number) => CacheEntry<V>,
): ScanPage<V> {
  if (!Number.isSafeInteger(cursor) || cursor < 0) {
    throw new RangeError(`scan: cursor must be a whole number ≥ 0, got ${describe(cursor)}`);
  }
  if (!Number.isSafeInteger(limit) || limit < 1) {
    throw new RangeError(`scan: limit must be a whole number ≥ 1, got ${describe(limit)}`);
  }
  const entries: [string, CacheEntry<V>][] = [];
  const keys = store.index.keys;
  const end = keys.length;
  const budget = Math.min(end, cursor + limit * 8);
  let slot = cursor;
  for (; slot < budget && entries.length < limit; slot++) {
    const key = keys[slot];
    if (key === undefined || (expiry !== undefined && expiry.isExpired(slot, now()))) continue;
    entries.push([key, entryAt(slot)]);
  }
  return { entries, next: slot >= end ? undefined : slot };
}

/**
 * Slots of the keys present when iteration starts, most recently used first, each looked up
 * again when its turn comes. Following the links instead would break as soon as the loop body
 * changed the cache: `clear` swaps in a fresh list, and a removed slot's link leads into the
 * free list or, once reused, back up the list. Keys removed or expired meanwhile are skipped,
 * keys added meanwhile are not visited, a key's current value is the one yielded, and a `clear`
 * ends the iteration.
 * `expiry` is read through a getter: the first TTL may be installed while iterating.
 */
export function* liveSlots<V>(
  store: SlotStore<V>,
  expiry: () => Expiry | undefined,
  now: () => number,
): Generator<number> {
  const list = store.list;
  const keys: string[] = [];
  for (let slot = list.head; slot !== NONE; slot = list.nextOf(slot)) keys.push(store.keyAt(slot));
  for (const key of keys) {
    // `clear` (and `load`, which clears first) swaps in a fresh list: the loop ends there, even
    // if the body has since written some of the keys still to come.
    if (store.list !== list) return;
    const slot = store.slotOf(key);
    if (slot === NONE) continue;
    const e = expiry();
    if (e === undefined || !e.isExpired(slot, now())) yield slot;
  }
}
