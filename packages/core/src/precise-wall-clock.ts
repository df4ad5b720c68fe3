/**
 * Wall-clock time in milliseconds with a fraction of a millisecond, for stamps (hlc.ts).
 *
 * `Date.now()` counts whole milliseconds, so two writes by different clients a few hundred
 * microseconds apart would be stamped in the same millisecond and ordered by how many stamps each
 * clock had issued in it, not by which came first: the later one then loses to the earlier one and
 * has to be sent again (or, past its last send, stays lost). The fraction comes from the monotonic
 * clock, anchored to the wall clock (`performance.timeOrigin`, the wall-clock time the process's
 * monotonic clock counts from). Whole milliseconds stay `Date.now()`'s: a reading outside the
 * millisecond `Date.now()` gives (the wall clock was stepped, or the monotonic clock stood still
 * while the machine slept) is re-anchored to that millisecond's start, so the clock is never ahead
 * of the wall clock and never coarser than it.
 */
export class PreciseWallClock {
  readonly #wall: () => number;
  readonly #monotonic: () => number;
  /** Wall-clock ms at the monotonic clock's zero. */
  #offset: number;

  /** The three sources are injectable for tests; by default the process's own, looked up per call. */
  constructor(
    wall: () => number = () => Date.now(),
    monotonic: () => number = () => performance.now(),
    origin: number = performance.timeOrigin,
  ) {
    this.#wall = wall;
    this.#monotonic = monotonic;
    this.#offset = origin;
  }

  /** Milliseconds since the Unix epoch, with a fraction; within `Date.now()`'s millisecond. */
  now(): number {
    const ms = this.#wall();
    const elapsed = this.#monotonic();
    const precise = this.#offset + elapsed;
    if (precise >= ms && precise < ms + 1) return precise;
    // Ahead: the millisecond may have turned between the two readings, so ask the wall clock again
    // (re-anchoring to the earlier one would step the clock back).
    const wallNow = precise < ms ? ms : this.#wall();
    if (precise >= wallNow && precise < wallNow + 1) return precise;
    this.#offset = wallNow - elapsed;
    return wallNow;
  }
}
