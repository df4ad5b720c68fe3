// Plays, in a loop of batches, what runs between two batches of a node in the client benchmark:
// the client and the kernel, which evict the node's data from the CPU caches (docs/performance/
// server.md, "With the CPU caches cold").

/** Most bytes one eviction may write: the buffer it walks. */
export const EVICTOR_BYTES = 64 << 20;

/**
 * `bytes` (0 to EVICTOR_BYTES) from an environment knob, or a RangeError naming it.
 * @param {string} name @param {string | undefined} value @param {number} fallback
 */
export function evictionBytes(name, value, fallback) {
  const bytes = Number(value ?? fallback);
  if (!Number.isInteger(bytes) || bytes < 0 || bytes > EVICTOR_BYTES) {
    throw new RangeError(`${name}: an integer from 0 to ${EVICTOR_BYTES}`);
  }
  return bytes;
}

/** A function writing `bytes` of a 64 MiB buffer, a cache line apart, where its last call stopped. */
export function cacheEvictor(bytes) {
  const evictor = new Uint8Array(EVICTOR_BYTES);
  let at = 0;
  return () => {
    for (let n = 0; n < bytes; n += 64) {
      evictor[at]++;
      at = (at + 64) % EVICTOR_BYTES;
    }
  };
}
