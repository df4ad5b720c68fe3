/**
 * Versions (ETags, memcached `cas`) are unique within one cache instance only; a restarted node
 * must never hand out one a client may still hold from before. The snapshot records the cache's
 * `lastVersion`, passed back as the core's `load({ minVersion })` — exact after a graceful
 * shutdown. After a crash the node restarts from an older snapshot that cannot know the versions
 * handed out since, so versions also start above an epoch taken from the clock: `now` × this
 * many. The epoch is not enough alone: a restore puts the counter above the floor by the
 * snapshot's version span, ahead of the clock. So each restore also writes a fence beside the
 * snapshot (version-fence.ts) — its counter and the time — and the next start's floor is also
 * above the fence's version plus this many per millisecond since. A run that handed out fewer
 * versions than that per millisecond on average since its restore — far more than a node
 * writes — cannot reach the floor of a later start.
 */
export const VERSIONS_PER_MS = 1000;
/**
 * The core refuses a `minVersion` above 2^52 (room for 2^52 writes must remain below 2^53); this
 * leaves 2^48 more for the loaded versions above it. Reached from the clock in about 2103.
 */
const MAX_EPOCH = 2 ** 52 - 2 ** 48;

/** The version a node starting at `nowMs` hands out versions above. */
export function epochVersion(nowMs: number): number {
  return capVersion(Math.max(0, Math.floor(nowMs)) * VERSIONS_PER_MS);
}

/** `version`, at most the highest floor the core accepts with room left above it. */
export function capVersion(version: number): number {
  return Math.min(version, MAX_EPOCH);
}
