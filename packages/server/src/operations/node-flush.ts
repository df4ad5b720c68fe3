import { MAX_TIMER_MS } from '../timer-limit.js';

/**
 * The shortest wait of a timer that fired before the flush time by the clock: an injected clock
 * that does not move would otherwise re-arm it every millisecond forever. Only an idle node waits
 * on the timer — any request or command settles a due flush at once.
 */
const MIN_REARM_MS = 1000;

/**
 * A node's one flush time, shared by every way to flush it: `POST /v1/flush[?delay=]`, the
 * batch's `["flush", delay?]` and memcached's `flush_all [delay]`.
 *
 * Why one, and why the latest request wins: memcached keeps a single `settings.oldest_live`
 * (proto_text.c, process_flush_all_command) that every flush_all overwrites. So an immediate
 * flush_all after a delayed one means the delayed one never happens, and a second delay replaces
 * the first whether it is sooner or later; a delay of 0, a negative one or an absolute time already
 * past flushes at once (`flush_all 0`, `flush_all -1`, and their noreply forms alike). Items
 * last written before that time read as gone once it arrives (items.c, item_is_flushed); clearing
 * the cache at that moment has the same effect, as anything written later comes after the clear.
 *
 * A due flush is applied by {@link settle}, which the store calls before every read or write of
 * an entry (`ReplicaStore`, or the memcached listener's `settlingCache` over a plain cache) — one
 * comparison while none is pending — the way memcached compares each item with `oldest_live` as
 * it reads it. So no door has to remember it, an injected clock sees the flush exactly, and a
 * request body or data block arriving after the flush time finds it applied: a write made after
 * the flush time stays, a read after it misses what was written before it. An unref'd timer
 * applies it for an idle node and never keeps the process alive.
 */
export class NodeFlush {
  /** When the pending flush happens, on the node's clock; undefined when none is pending. */
  #atMs: number | undefined;
  #timer: NodeJS.Timeout | undefined;
  readonly #clear: () => void;
  readonly #now: () => number;

  /** `clear` empties the cache; `now` is the node's clock in ms. */
  constructor(clear: () => void, now: () => number) {
    this.#clear = clear;
    this.#now = now;
  }

  /** When the pending flush happens (the clock's ms), or undefined when none is pending. */
  get pendingAtMs(): number | undefined {
    return this.#atMs;
  }

  /**
   * Empties the node now (`delayMs` <= 0) or `delayMs` ms from now; either way any pending flush
   * is dropped first, so the node is flushed once, at the latest request's time.
   */
  flush(delayMs: number): void {
    if (Number.isNaN(delayMs)) throw new RangeError('flush delay must be a number of ms, got NaN');
    this.cancel();
    if (delayMs <= 0) {
      this.#clear();
      return;
    }
    this.#atMs = this.#now() + delayMs;
    this.#arm(delayMs);
  }

  /** Applies the pending flush if its time has come. */
  settle(): void {
    if (this.#atMs !== undefined && this.#now() >= this.#atMs) {
      this.cancel();
      this.#clear();
    }
  }

  /** Drops the pending flush, if any, and its timer (the node is closing). */
  cancel(): void {
    this.#atMs = undefined;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /**
   * Node's timers hold at most 2^31−1 ms (~24.8 days), and memcached takes a flush up to 30 days
   * ahead — or any absolute time: a far flush waits in steps and re-arms until its time comes. A
   * step that fires early by the clock (an injected one that has not moved) re-arms too, for at
   * least MIN_REARM_MS.
   */
  #arm(delayMs: number): void {
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        this.settle();
        if (this.#atMs !== undefined) {
          this.#arm(Math.max(this.#atMs - this.#now(), MIN_REARM_MS));
        }
      },
      Math.min(Math.max(delayMs, 1), MAX_TIMER_MS),
    );
    this.#timer.unref();
  }
}
