/**
 * Keyv's TTL (ms, maybe fractional) as the client and the core take it: whole milliseconds,
 * rounded up. Read as Keyv reads it for its own `expires`: `Infinity` never expires, and what is
 * not a number (or is NaN) sets none; a negative one goes on, to be refused there.
 */
export function ttlOf(ttl: unknown): { ttl?: number } {
  if (typeof ttl !== 'number' || Number.isNaN(ttl)) return {};
  if (ttl === Infinity) return { ttl: 0 };
  return { ttl: Number.isFinite(ttl) && ttl > 0 ? Math.ceil(ttl) : ttl };
}
