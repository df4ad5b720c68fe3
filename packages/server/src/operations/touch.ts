import type { ReplicaStore } from '../replication/replica-store.js';

/**
 * Get-and-touch's second half (memcached's `gat`): gives a key just read its new TTL, when one was
 * asked for, and returns the TTL the answer reports — the new one, or the entry's own when there
 * is none; undefined = never expires.
 */
export function touchAfterRead(
  replicas: ReplicaStore,
  key: string,
  entryTtl: number | undefined,
  newTtl: number | undefined,
): number | undefined {
  if (newTtl === undefined) return entryTtl;
  replicas.retouch(key, newTtl);
  return newTtl === 0 ? undefined : newTtl;
}
