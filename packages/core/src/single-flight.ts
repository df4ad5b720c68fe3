/**
 * Collapses concurrent loads of one key into one call, like groupcache's singleflight: the first
 * caller starts the load, later callers for the same key get the same promise until it settles.
 * A load can be marked stale while it runs (its key was deleted or the cache cleared): its result
 * still reaches every waiter, but the loader is told not to store it.
 */
export class SingleFlight<V> {
  readonly #inFlight = new Map<string, Promise<V>>();
  /** Keys whose running load was invalidated after it started. */
  readonly #stale = new Set<string>();

  /**
   * The in-flight load of `key`, or a new one started with `load`, which receives a function that
   * tells whether the load has been invalidated since it started.
   */
  run(key: string, load: (isStale: () => boolean) => Promise<V>): Promise<V> {
    const existing = this.#inFlight.get(key);
    if (existing !== undefined) return existing;
    const flight = load(() => this.#stale.has(key)).finally(() => {
      // Forget the flight before any waiter resumes, so a later call starts a fresh load.
      this.#inFlight.delete(key);
      this.#stale.delete(key);
    });
    this.#inFlight.set(key, flight);
    return flight;
  }

  /** Marks the running load of `key`, if any, as stale. */
  invalidate(key: string): void {
    if (this.#inFlight.has(key)) this.#stale.add(key);
  }

  /** Marks every running load as stale. */
  invalidateAll(): void {
    for (const key of this.#inFlight.keys()) this.#stale.add(key);
  }

  get size(): number {
    return this.#inFlight.size;
  }
}
