import type { DumpEntry, LruCache } from '@dcache/core';
import type { StoredValue } from './stored-value.js';

/**
 * Versions (ETags, memcached `cas`) are unique within one cache instance only; a restarted node
 * must never hand out one a client may still hold from before. With a snapshot file, a node's
 * versions therefore start above an epoch taken from its clock: `now` × this many. A process
 * that hands out fewer versions than that per millisecond on average — far more than a node
 * writes — cannot reach the epoch of a later start, even when it crashed without recording what it
 * handed out. At a graceful shutdown the snapshot also records the last version handed out, which
 * covers a clock that went back.
 */
export const VERSIONS_PER_MS = 1000;
/** Leaves 2^52 versions of headroom below 2^53 − 1 (reached from the clock in about 2112). */
const MAX_EPOCH = 2 ** 52;

const EMPTY: StoredValue = { bytes: new Uint8Array(0), flags: 0 };

/** The lowest version a node starting at `nowMs` may hand out (minus one). */
export function epochVersion(nowMs: number): number {
  return Math.min(Math.max(0, Math.floor(nowMs)) * VERSIONS_PER_MS, MAX_EPOCH);
}

/** A key that none of `entries` uses, for the short-lived marker entries below. */
function unusedKey(entries: readonly DumpEntry<StoredValue>[]): string {
  let key = '\u0000dcache:version-marker';
  while (entries.some(([used]) => used === key)) key += '\u0000';
  return key;
}

/**
 * `cache.load(entries, { elapsed })`, after which every version the cache hands out is above
 * `floor`. The core has no setting for its version counter, but it hands out versions above every
 * version in a loaded snapshot: so a marker entry carrying `floor` goes in first (least recently
 * used, so it is the first to give way if the entries fill the cache) and is deleted after. `floor`
 * must be above every entry's version. All or nothing: throws, changing nothing, when the core
 * refuses the snapshot.
 */
export function loadAboveFloor(
  cache: LruCache<StoredValue>,
  entries: readonly DumpEntry<StoredValue>[],
  elapsed: number,
  floor: number,
): void {
  const marker = unusedKey(entries);
  try {
    cache.load([[marker, { value: EMPTY, version: floor }], ...entries], { elapsed });
  } catch (error) {
    // The core counts the marker as entry 0: name the entries as the snapshot numbers them.
    if (error instanceof Error) {
      error.message = error.message.replace(/\bentry (\d+)/g, (_, n) => `entry ${Number(n) - 1}`);
    }
    throw error;
  }
  cache.delete(marker);
}

/** The highest version among `entries`, 0 when none has one. */
export function highestVersion(entries: readonly DumpEntry<StoredValue>[]): number {
  let highest = 0;
  for (const [, record] of entries) highest = Math.max(highest, record.version ?? 0);
  return highest;
}

/**
 * The last version `cache` handed out, read by writing a marker entry (and deleting it): the core
 * does not expose its counter. Call it after `dump()` and only when the cache may change — the
 * marker can evict the least recently used entry of a full cache. Falls back to the highest
 * version in `entries` when the cache refuses the marker.
 */
export function lastVersionHandedOut(
  cache: LruCache<StoredValue>,
  entries: readonly DumpEntry<StoredValue>[],
): number {
  const highest = highestVersion(entries);
  const marker = unusedKey(entries);
  if (!cache.add(marker, EMPTY, { ttl: 0 })) return highest;
  // The marker's version is the newest there is (a client never sees it).
  const written = cache.peekEntry(marker)?.version ?? 0;
  cache.delete(marker);
  return Math.max(highest, written);
}
