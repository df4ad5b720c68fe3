import type { ReplicaStore } from '../replication/replica-store.js';

/**
 * Get-and-touch's second half (memcached's `gat`): gives a key just read its new TTL, when one was
 * asked for, and returns the TTL the answer reports — the new one, or the entry's own when there
 * is none, or when the touch was stamped at or below the entry (it changes nothing then, see
 * `ReplicaStore.retouch`); undefined = never expires. `stamp`: the writer's, as a `touch` takes
 * (undefined: the node stamps it).
 */
export function touchAfterRead(
  replicas: ReplicaStore,
  key: string,
  entryTtl: number | undefined,
  newTtl: number | undefined,
  verified = true,
  stamp?: number,
): number | undefined {
  if (newTtl === undefined) return entryTtl;
  // An unverified entry (a batch get serves it flagged) is not touched: its client touches it once
  // a peer vouched for it. Nothing was refused that a reader would have been served stale, so
  // it is not counted as a stale read prevented; the answer reports the TTL asked for, which the
  // client's repairs then carry.
  // A touch stamped at or below the entry was issued before the write it found (delivered late):
  // that write keeps its own TTL, and the answer reports it (retouch).
  if (verified && replicas.retouch(key, newTtl, stamp)?.superseded === true) return entryTtl;
  return newTtl === 0 ? undefined : newTtl;
}
