/**
 * Keyv's TTL (ms, maybe fractional) as the client and the core take it: whole milliseconds,
 * rounded up. Read as Keyv reads it for its own `expires`: `Infinity` never expires, and what is
 * not a number (or is NaN) sets none; a negative one goes on, to be refused there. One past
 * 2^53 − 1 ms (285,000 years, the client's limit) never expires either, as Infinity.
 */
export function ttlOf(ttl: unknown): { ttl?: number } {
  if (typeof ttl !== 'number' || Number.isNaN(ttl)) return {};
  if (ttl > Number.MAX_SAFE_INTEGER) return { ttl: 0 };
  return { ttl: Number.isFinite(ttl) && ttl > 0 ? Math.ceil(ttl) : ttl };
}
