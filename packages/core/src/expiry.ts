/**
 * Expiry: absolute expiry times per slot (ms on the cache's clock, 0 = never), a column attached
 * to the slot store only when the first entry with a TTL is written, so caches that never use
 * TTLs pay nothing.
 *
 * Memory of expired entries nobody reads again is reclaimed by a sweep with bounded work: every
 * insertion examines SWEEP_PER_WRITE slots at a rotating cursor, and an unref'd timer examines
 * SWEEP_PER_TICK slots every `sweepInterval` ms. The timer holds the cache only through a WeakRef,
 * so a dropped cache is garbage-collected and its timer stops.
 */
import { grown } from './lru-list.js';
import type { Column } from './slot-store.js';

export const SWEEP_PER_WRITE = 2;
export const SWEEP_PER_TICK = 8192;

export class Expiry implements Column {
  /** Expiry time per slot; 0 = never. */
  at: Float64Array;
  #cursor = 0;

  constructor(capacity: number) {
    this.at = new Float64Array(capacity);
  }

  grow(capacity: number): void {
    this.at = grown(this.at, capacity);
  }

  reset(capacity: number): void {
    this.at = new Float64Array(capacity);
    this.#cursor = 0;
  }

  isExpired(slot: number, now: number): boolean {
    return isExpired(this.at[slot]!, now);
  }

  /**
   * Examines up to `budget` of the `used` slots at the rotating cursor and calls `reclaim` for
   * each occupied one that has expired (`occupied` tells a live slot from a free one).
   */
  sweep(
    budget: number,
    used: number,
    now: number,
    occupied: (string | undefined)[],
    reclaim: (slot: number) => void,
  ): void {
    if (used === 0) return;
    const at = this.at;
    let cursor = this.#cursor;
    for (let n = Math.min(budget, used); n > 0; n--) {
      if (cursor >= used) cursor = 0;
      if (isExpired(at[cursor]!, now) && occupied[cursor] !== undefined) reclaim(cursor);
      cursor++;
    }
    this.#cursor = cursor;
  }
}

export function isExpired(expiresAt: number, now: number): boolean {
  return expiresAt !== 0 && expiresAt <= now;
}

/** The smallest negative double: an expiry time standing for 0, which means "never". */
const JUST_BELOW_ZERO = -Number.MIN_VALUE;

export function expiryFor(ttl: number, now: () => number): number {
  if (ttl === 0) return 0;
  const at = now() + ttl;
  // An injected clock may read below zero; an entry due at exactly 0 must still expire (from 0 on,
  // as `isExpired` compares), not be taken for one that never does.
  return at === 0 ? JUST_BELOW_ZERO : at;
}

/**
 * What is left of a TTL, at most Number.MAX_SAFE_INTEGER: past 2^53 a sum `now + ttl` rounds to
 * an even number, so a TTL of 2^53−1 could read back one larger than any TTL a write accepts
 * (the server's and client's ceiling) — and be refused when written back (a read repair).
 */
export function remainingMs(expiresAt: number, now: number): number {
  // At least 1: the entry was found live, perhaps by an earlier reading of the clock, and a TTL
  // of 0 means "never expires" to every writer (a hint replay or repair would make it immortal).
  return Math.max(1, Math.min(expiresAt - now, Number.MAX_SAFE_INTEGER));
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
