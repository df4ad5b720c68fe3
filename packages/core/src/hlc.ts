/**
 * Stamps: cluster-comparable versions for replicated writes (see docs/design/never-stale.md).
 *
 * A stamp is a safe integer `(ms since STAMP_EPOCH_MS) × 2^10 + sub`, `sub` the fraction of the
 * millisecond it was issued in, in 1/1024 ms — unless the clock has issued or observed a stamp at
 * or above that, when it issues the next one up (the logical part). Hybrid logical clocks
 * (Kulkarni et al.) keep stamps close to wall time while ordering every stamp a clock has issued
 * or observed: a client that read a node's clock stamps its next write above everything that
 * node had seen, whatever the two wall clocks say.
 */
import { PreciseWallClock } from './precise-wall-clock.js';

/** 2025-01-01T00:00:00Z: stamps count from here, so 43 bits of ms last until ~2303. */
export const STAMP_EPOCH_MS = Date.UTC(2025, 0, 1);
/** Stamps one millisecond holds before the clock borrows the next one. */
export const STAMPS_PER_MS = 1024;
/** The default limit on how far ahead of our wall clock an observed stamp may be. */
export const DEFAULT_MAX_CLOCK_SKEW_MS = 500;

export interface HybridClockOptions {
  /**
   * Wall clock in ms since the Unix epoch; a fraction of a millisecond is kept in the stamp.
   * @default the wall clock with the monotonic clock's fraction (precise-wall-clock.ts)
   */
  now?: () => number;
  /** `observe` refuses stamps further ahead of `now` than this many ms. @default 500 */
  maxSkewMs?: number;
}

/** The wall-clock ms (Unix epoch) a stamp was issued at, for logs and TTL arithmetic. */
export function stampTime(stamp: number): number {
  return Math.floor(stamp / STAMPS_PER_MS) + STAMP_EPOCH_MS;
}

/** The lowest stamp a clock reading `ms` (Unix epoch) can issue. */
export function stampAt(ms: number): number {
  return Math.max(0, Math.floor(ms) - STAMP_EPOCH_MS) * STAMPS_PER_MS;
}

/** The stamp a clock reading `ms` issues when nothing it issued or observed is above it. */
function physicalStamp(ms: number): number {
  return Math.max(0, Math.floor((ms - STAMP_EPOCH_MS) * STAMPS_PER_MS));
}

const processWallClock = new PreciseWallClock();
const preciseNow = (): number => processWallClock.now();

export function isStamp(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

export class HybridClock {
  #last = 0;
  readonly #now: () => number;
  readonly #maxSkew: number;

  constructor(options: HybridClockOptions = {}) {
    // A misspelt option ({ maxSkew: 5000 }) silently ignored would run with its default.
    for (const name of Object.keys(options)) {
      if (name !== 'now' && name !== 'maxSkewMs') {
        throw new TypeError(`HybridClock: unknown option "${name}" (known: now, maxSkewMs)`);
      }
    }
    const { now = preciseNow, maxSkewMs = DEFAULT_MAX_CLOCK_SKEW_MS } = options;
    if (typeof now !== 'function') throw new TypeError('HybridClock: now must be a function');
    if (typeof maxSkewMs !== 'number' || !(maxSkewMs >= 0)) {
      throw new RangeError(
        `HybridClock: maxSkewMs must be a number >= 0, got ${String(maxSkewMs)}`,
      );
    }
    this.#now = now;
    this.#maxSkew = maxSkewMs * STAMPS_PER_MS;
  }

  /** The newest stamp issued or observed (0 before the first). */
  get last(): number {
    return this.#last;
  }

  /** A stamp above every stamp this clock issued or observed. */
  tick(): number {
    const physical = physicalStamp(this.#now());
    this.#last = physical > this.#last ? physical : this.#last + 1;
    return this.#last;
  }

  /**
   * Merges a stamp seen elsewhere, so later ticks are above it. Returns false, and ignores it,
   * when it is not a stamp or is more than `maxSkewMs` ahead of this clock's wall time: one
   * runaway clock must not drag every later stamp into the future.
   */
  observe(stamp: number): boolean {
    if (!isStamp(stamp)) return false;
    if (stamp <= this.#last) return true;
    if (stamp - stampAt(this.#now()) > this.#maxSkew) return false;
    this.#last = stamp;
    return true;
  }
}
