/**
 * Versions (ETags, memcached `cas`) are unique within one cache instance only; a restarted node
 * must never hand out one a client may still hold from before. The snapshot records the cache's
 * `lastVersion`, passed back as the core's `load({ minVersion })` — exact after a graceful
 * shutdown. After a crash the node restarts from an older snapshot that cannot know the versions
 * handed out since, so versions also start above an epoch taken from the clock: `now` × this
 * many. A run that handed out fewer versions than that per millisecond on average — far more
 * than a node writes — cannot reach the epoch of a later start.
 */
export const VERSIONS_PER_MS = 1000;
/**
 * The core refuses a `minVersion` above 2^52 (room for 2^52 writes must remain below 2^53); this
 * leaves 2^48 more for the loaded versions above it. Reached from the clock in about 2103.
 */
const MAX_EPOCH = 2 ** 52 - 2 ** 48;

/** The version a node starting at `nowMs` hands out versions above. */
export function epochVersion(nowMs: number): number {
  return Math.min(Math.max(0, Math.floor(nowMs)) * VERSIONS_PER_MS, MAX_EPOCH);
}
