/**
 * The default clock: Date.now read coarsely, like lru-cache's `ttlResolution: 1`.
 *
 * Reading the system clock on every cache access costs more than the access itself, so one
 * reading is reused until an unref'd 1 ms timer drops it, or for READS_PER_REFRESH reads, whichever
 * comes first. The timer fires only when the event loop turns, so within one synchronous stretch
 * the reading is as old as the stretch, until its 1,024th read: an entry can be served past its
 * expiry by ~1 ms when the event loop is free, but by as long as a synchronous stretch has run when
 * it has made fewer than 1,024 reads. No read count can bound that in time (the code between two
 * reads may run for seconds), so the read budget only stops a long loop of cache calls from
 * running on one reading for ever. Inject `now` to get an exact clock.
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

/**
 * The period, in ms, of the timer that drops `coarseNow`'s reading: its staleness while the event
 * loop is free. A synchronous stretch can hold a reading longer (see above).
 */
export const COARSE_CLOCK_RESOLUTION_MS = 1;
