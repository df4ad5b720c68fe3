/** Something holding replies to write out (a memcached connection). */
export interface Flushable {
  /** Set while queued with a scheduler (only the scheduler writes it): queued once per turn. */
  flushQueued: boolean;
  flushReplies(): void;
  /** Gives the connection up when writing its replies failed unexpectedly. */
  abandon(): void;
}

/**
 * Writes the replies of every connection that received input during one event-loop turn once,
 * after all of that turn's input was processed (`setImmediate` runs right after the poll phase),
 * instead of writing each connection's replies as soon as its input is parsed.
 *
 * Why: under memaslap (64 connections, one request each in flight) the node's only thread read,
 * parsed and wrote connection after connection; every write wakes a load-generator thread, which
 * preempted the node mid-turn (0.37 involuntary context switches per request). Writing in a
 * burst after the reads measured 0.33, ~1.5 µs less CPU per request (kernel time fell most) and
 * 3–12% more requests per second in five alternating rounds (MEMCACHED.md, "Performance"). A
 * reply waits until the end of the poll phase it arrived in (the other sockets' reads and any other
 * I/O callbacks of that phase, HTTP requests included), and several reads of one connection in a
 * turn leave in one write.
 */
export class FlushScheduler {
  // Arrays and a flag on each target rather than a Set: a Set cleared every turn re-grows its
  // table as the turn's connections are added again (measured in the node's profile).
  #queued: Flushable[] = [];
  /** The other array, swapped in while one is being flushed (no allocation per turn). */
  #spare: Flushable[] = [];
  #scheduled = false;
  readonly #run = (): void => this.flushAll();

  /** Queues `target` for the end of this turn (once, however often it is added). */
  add(target: Flushable): void {
    if (target.flushQueued) return;
    target.flushQueued = true;
    this.#queued.push(target);
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(this.#run);
  }

  /** Writes everything queued now (also what `setImmediate` runs). */
  flushAll(): void {
    this.#scheduled = false;
    const queued = this.#queued;
    if (queued.length === 0) return;
    this.#queued = this.#spare;
    for (let i = 0; i < queued.length; i++) {
      const target = queued[i]!;
      target.flushQueued = false;
      try {
        target.flushReplies();
      } catch {
        // Not expected (a write reports failures through 'error'). Should it happen, this
        // connection is dropped rather than the other connections' replies and the process.
        target.abandon();
      }
    }
    queued.length = 0;
    this.#spare = queued;
  }
}
