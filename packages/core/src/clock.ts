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

let cached = 0;
let readsLeft = 0;
let timerPending = false;

function drop(): void {
  cached = 0;
  timerPending = false;
}

export function coarseNow(): number {
  if (cached !== 0 && --readsLeft > 0) return cached;
  cached = Date.now();
  readsLeft = READS_PER_REFRESH;
  if (!timerPending) {
    timerPending = true;
    setTimeout(drop, 1).unref();
  }
  return cached;
}

/** The clock resolution promised by `coarseNow`, in ms. */
export const COARSE_CLOCK_RESOLUTION_MS = 1;
