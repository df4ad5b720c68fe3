/**
 * The default clock: Date.now read coarsely, like lru-cache's `ttlResolution: 1`.
 *
 * Reading the system clock on every cache access costs more than the access itself, so one
 * reading is reused until an unref'd 1 ms timer drops it — and, because a timer cannot fire while
 * synchronous code hogs the event loop, also after READS_PER_REFRESH reads. An entry can therefore
 * be served at most ~1 ms (or 1024 cache operations) past its expiry, never more. Inject `now` to
 * get an exact clock.
 */
const READS_PER_REFRESH = 1024;

// The reading lives in a Float64Array: a plain `let` holding a double would box a fresh heap
// number on every refresh, and reads would then allocate (rarely, but "never" is the promise).
const state = new Float64Array(2);
const CACHED = 0;
const READS_LEFT = 1;
let timerPending = false;

function drop(): void {
  state[CACHED] = 0;
  timerPending = false;
}

export function coarseNow(): number {
  const cached = state[CACHED]!;
  if (cached !== 0 && --state[READS_LEFT]! > 0) return cached;
  const now = Date.now();
  state[CACHED] = now;
  state[READS_LEFT] = READS_PER_REFRESH;
  if (!timerPending) {
    timerPending = true;
    setTimeout(drop, 1).unref();
  }
  return now;
}

/** The clock resolution promised by `coarseNow`, in ms. */
export const COARSE_CLOCK_RESOLUTION_MS = 1;
