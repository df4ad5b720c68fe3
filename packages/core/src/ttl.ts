/**
 * Expiry bookkeeping. Absolute expiry times (ms on the cache's clock, 0 = never) live in a
 * Float64Array parallel to the slots, installed only when the first entry with a TTL is written,
 * so caches that never use TTLs pay nothing.
 *
 * Reclaiming memory of entries nobody reads again is done by a sweep with bounded work: every
 * insertion examines SWEEP_PER_WRITE slots at a rotating cursor, and an unref'd timer examines
 * SWEEP_PER_TICK slots every `sweepInterval` ms. The timer holds the cache only through a WeakRef,
 * so a dropped cache is garbage-collected and its timer stops.
 */
export const SWEEP_PER_WRITE = 2;
export const SWEEP_PER_TICK = 8192;

export function isExpired(expiresAt: number, now: number): boolean {
  return expiresAt !== 0 && expiresAt <= now;
}

export function expiryFor(ttl: number, now: () => number): number {
  return ttl === 0 ? 0 : now() + ttl;
}

export function startSweeper<T extends object>(
  target: T,
  intervalMs: number,
  sweep: (target: T) => void,
): ReturnType<typeof setInterval> {
  const ref = new WeakRef(target);
  const timer: ReturnType<typeof setInterval> = setInterval(() => {
    const live = ref.deref();
    if (live === undefined) clearInterval(timer);
    else sweep(live);
  }, intervalMs);
  timer.unref();
  return timer;
}
