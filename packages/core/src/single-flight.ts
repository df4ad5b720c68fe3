/**
 * Collapses concurrent loads of one key into one call, like groupcache's singleflight: the first
 * caller starts the load, later callers for the same key get the same promise until it settles.
 */
export class SingleFlight<V> {
  readonly #inFlight = new Map<string, Promise<V>>();

  /** The in-flight load of `key`, or a new one started with `load`. */
  run(key: string, load: () => Promise<V>): Promise<V> {
    const existing = this.#inFlight.get(key);
    if (existing !== undefined) return existing;
    const flight = load().finally(() => {
      // Forget the flight before any waiter resumes, so a later call starts a fresh load.
      this.#inFlight.delete(key);
    });
    this.#inFlight.set(key, flight);
    return flight;
  }

  get size(): number {
    return this.#inFlight.size;
  }
}
