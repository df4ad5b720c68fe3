/**
 * The node-wide budget of memcached input held across reads: data blocks gathered from several
 * reads, and `get` lines past 2 KiB. A connection takes bytes before it keeps them
 * ({@link tryReserve}) and returns them once its block or line is done or it closes; what does not
 * fit is refused (see MemcachedConnection). Its own pool, not the HTTP body budget: memcached
 * clients cannot make the node refuse HTTP uploads, nor the reverse.
 */
export class InputBudget {
  /** Bytes all connections hold now. */
  total = 0;

  constructor(readonly maxBytes: number) {}

  /** Takes `bytes` when they fit; false (nothing taken) when not. */
  tryReserve(bytes: number): boolean {
    if (this.total + bytes > this.maxBytes) return false;
    this.total += bytes;
    return true;
  }

  release(bytes: number): void {
    this.total -= bytes;
  }
}
