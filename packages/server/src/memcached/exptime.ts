/**
 * memcached expiration times → core TTLs in milliseconds.
 *
 * 0 = never; 1 … 30 days = seconds from now; larger = an absolute Unix time in seconds;
 * negative or an absolute time already past = expired at once. The core knows no "already
 * expired", so callers receive {@link EXPIRED} and remove the entry themselves.
 */

/** Seconds in 30 days: memcached's REALTIME_MAXDELTA. */
export const MAX_RELATIVE_EXPTIME = 60 * 60 * 24 * 30;

/** Marker TTL: the item must be treated as expired immediately. */
export const EXPIRED = -1;

export function exptimeToTtlMs(exptime: number, nowMs: number): number {
  if (exptime === 0) return 0;
  if (exptime < 0) return EXPIRED;
  if (exptime <= MAX_RELATIVE_EXPTIME) return exptime * 1000;
  const ms = exptime * 1000 - nowMs;
  return ms > 0 ? ms : EXPIRED;
}

/**
 * The TTL left of `ttlMs`, read from a command line at `lineAtMs`, when its data block has arrived
 * by the clock `now`. memcached fixes an item's expiry time as it reads the line, so a block that arrives
 * after it stores an item already expired, and one that arrives late keeps less of its TTL. 0
 * ("never") and {@link EXPIRED} stay as they are, without reading the clock (the common set).
 */
export function ttlLeftAt(ttlMs: number, lineAtMs: number, now: () => number): number {
  if (ttlMs <= 0) return ttlMs;
  const left = ttlMs - (now() - lineAtMs);
  return left > 0 ? left : EXPIRED;
}

/**
 * Remaining TTL as memcached reports it in meta `t` flags: whole seconds, -1 for "never".
 * Rounded up, so an item set with T30 reports 30 in the same second, as memcached does.
 */
export function ttlMsToSeconds(ttlMs: number | undefined): number {
  if (ttlMs === undefined) return -1;
  return Math.ceil(ttlMs / 1000);
}

/**
 * The remaining TTL a meta flag reads after a T/N token set `ttlMs`: undefined for "never",
 * 0 for an already-expired TTL (memcached then reports it as run out and lets `R` win).
 */
export function ttlAfterChange(ttlMs: number): number | undefined {
  if (ttlMs === EXPIRED) return 0;
  return ttlMs === 0 ? undefined : ttlMs;
}
