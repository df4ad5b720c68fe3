/**
 * Wall-clock time in milliseconds with a fraction of a millisecond, for stamps (hlc.ts).
 *
 * `Date.now()` counts whole milliseconds, so two writes by different clients a few hundred
 * microseconds apart would be stamped in the same millisecond and ordered by how many stamps each
 * clock had issued in it, not by which came first: the later one then loses to the earlier one and
 * has to be sent again (or, past its last send, stays lost). The fraction comes from the monotonic
 * clock, anchored to the wall clock (`performance.timeOrigin`, the wall-clock time the process's
 * monotonic clock counts from). Whole milliseconds stay `Date.now()`'s: a reading outside the
 * millisecond `Date.now()` gives is held at that millisecond's edge when it is less than a
 * millisecond off, and re-anchored to its start when it is further off (the wall clock was stepped,
 * or the monotonic clock stood still while the machine slept): the clock is never outside the wall
 * clock's millisecond and never coarser than it.
 */
/** The last stamp's worth of a millisecond (hlc.ts counts 1024 per ms). */
const LAST_FRACTION = 1023 / 1024;

export class PreciseWallClock {
  readonly #wall: () => number;
  readonly #monotonic: () => number;
  /** Wall-clock ms at the monotonic clock's zero. */
  #offset: number;

  /**
   * The three sources are injectable for tests. By default the process's own, taken when the clock
   * is made: a test's fake timers installed later (vitest's, timekeeper's) do not move stamps,
   * which other processes' clocks compare.
   */
  constructor(
    wall: () => number = Date.now,
    monotonic: () => number = performance.now.bind(performance),
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
    // The millisecond may have turned between the two readings: ask the wall clock again.
    const wall = precise < ms ? ms : this.#wall();
    if (precise >= wall && precise < wall + 1) return precise;
    // Less than a millisecond off: the anchoring's own error (a few microseconds) at a
    // millisecond's edge. The nearest reading inside the wall clock's millisecond, anchoring kept.
    if (precise > wall - 1 && precise < wall + 2)
      return precise < wall ? wall : wall + LAST_FRACTION;
    // Further off, a clock was stepped (or the monotonic one stood still): re-anchor.
    this.#offset = wall - elapsed;
    return wall;
  }
}
