/** One load in progress, and whether a delete or clear has made its result stale. */
interface Flight<V> {
  promise: Promise<V>;
  stale: boolean;
}

/**
 * Collapses concurrent loads of one key into one call, like groupcache's singleflight: the first
 * caller starts the load, later callers for the same key get the same promise until it settles.
 * A load can be marked stale while it runs (its key was deleted or the cache cleared): its result
 * still reaches the callers already waiting, but the loader is told not to store it, and a later
 * caller starts a fresh load instead of joining it.
 */
export class SingleFlight<V> {
  readonly #inFlight = new Map<string, Flight<V>>();

  /**
   * The current load of `key`, or a new one started with `load`, which receives a function that
   * tells whether its load has been invalidated since it started.
   */
  run(key: string, load: (isStale: () => boolean) => Promise<V>): Promise<V> {
    const existing = this.#inFlight.get(key);
    if (existing !== undefined && !existing.stale) return existing.promise;
    // Promise.withResolvers needs Node 22.
    let resolve!: (value: V) => void;
    let reject!: (reason: unknown) => void;
    const promise = new Promise<V>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const flight: Flight<V> = {
      // Forget the flight before any waiter resumes, so a later call starts a fresh load — unless
      // a fresh load already replaced this stale one.
      promise: promise.finally(() => {
        if (this.#inFlight.get(key) === flight) this.#inFlight.delete(key);
      }),
      stale: false,
    };
    // Registered before `load` runs: an invalidation made by the load's synchronous part (a
    // synchronous loader deleting the key, or clearing the cache) must mark this flight stale, and
    // a caller it reaches meanwhile must join it.
    this.#inFlight.set(key, flight);
    try {
      load(() => flight.stale).then(resolve, reject);
    } catch (error) {
      reject(error);
    }
    return flight.promise;
  }

  /** Marks the running load of `key`, if any, as stale. */
  invalidate(key: string): void {
    const flight = this.#inFlight.get(key);
    if (flight !== undefined) flight.stale = true;
  }

  /** Marks every running load as stale. */
  invalidateAll(): void {
    for (const flight of this.#inFlight.values()) flight.stale = true;
  }

  get size(): number {
    return this.#inFlight.size;
  }
}
