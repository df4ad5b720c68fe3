/** One load in progress, and whether an invalidation (delete, flush) has made it stale. */
interface Flight {
  readonly promise: Promise<unknown>;
  stale: boolean;
}

/**
 * Collapses the concurrent loads of one key in this process into one call, as groupcache's
 * singleflight and @dcache/core's getOrSet do: the first caller starts the load, later callers for
 * the key share its promise until it settles. A load invalidated while it runs still answers the
 * callers already waiting, but is told it is stale (so it does not store its value), and a later
 * caller starts a fresh load instead of joining it.
 */
export class SingleFlight {
  readonly #inFlight = new Map<string, Flight>();

  /** The running, not stale, load of `key`, or a new one: `load` is told whether it went stale. */
  run<T>(key: string, load: (isStale: () => boolean) => Promise<T>): Promise<T> {
    const running = this.#inFlight.get(key);
    if (running !== undefined && !running.stale) return running.promise as Promise<T>;
    const state = { stale: false };
    const promise = load(() => state.stale).finally(() => {
      // Forgotten before any waiter resumes, so a call made after it settles loads afresh —
      // unless a fresh load has already replaced this stale one.
      if (this.#inFlight.get(key) === flight) this.#inFlight.delete(key);
    });
    const flight: Flight = Object.assign(state, { promise });
    this.#inFlight.set(key, flight);
    return promise;
  }

  /** Marks the running load of `key`, if any, stale. */
  invalidate(key: string): void {
    const flight = this.#inFlight.get(key);
    if (flight !== undefined) flight.stale = true;
  }

  /** Marks every running load stale. */
  invalidateAll(): void {
    for (const flight of this.#inFlight.values()) flight.stale = true;
  }

  /** Loads running now (stale ones still counted until they settle). */
  get size(): number {
    return this.#inFlight.size;
  }
}
