/**
 * onEvict notifications waiting for the operation that caused them to finish. Delivering them
 * only then means a callback sees a consistent cache and may call back into it (its own
 * notifications join the queue and are delivered by the same flush).
 */
import type { EvictionReason } from './types.js';

/** Slots kept for the next operation's notifications after a flush; a burst past it frees its own. */
const KEPT_SLOTS = 64;

export class EvictQueue<V> {
  readonly #onEvict: (key: string, value: V, reason: EvictionReason) => void;
  // Slots are reused rather than the arrays emptied: `length = 0` gives a fast array's backing
  // store up, and every overwrite (one notification) would then allocate three new ones.
  #keys: (string | undefined)[] = [];
  #values: (V | undefined)[] = [];
  #reasons: (EvictionReason | undefined)[] = [];
  #count = 0;
  #flushing = false;

  constructor(onEvict: (key: string, value: V, reason: EvictionReason) => void) {
    this.#onEvict = onEvict;
  }

  /** Whether a flush has work to do (false while one is already running further up the stack). */
  get due(): boolean {
    return this.#count !== 0 && !this.#flushing;
  }

  push(key: string, value: V, reason: EvictionReason): void {
    const at = this.#count++;
    this.#keys[at] = key;
    this.#values[at] = value;
    this.#reasons[at] = reason;
  }

  /**
   * Delivers everything queued, including what callbacks queue meanwhile. A throwing callback
   * does not stop the others; the first error is rethrown once all were delivered.
   */
  flush(): void {
    this.#flushing = true;
    let failed = false;
    let failure: unknown;
    let at = 0;
    try {
      for (; at < this.#count; at++) {
        try {
          this.#onEvict(this.#keys[at]!, this.#values[at] as V, this.#reasons[at]!);
        } catch (error) {
          if (!failed) {
            failed = true;
            failure = error;
          }
        }
      }
    } finally {
      if (this.#count > KEPT_SLOTS) {
        // A burst (a clear, a load evicting): its slots are not kept.
        this.#keys = [];
        this.#values = [];
        this.#reasons = [];
      } else {
        // Delivered entries must not keep their values alive.
        for (let i = 0; i < this.#count; i++) {
          this.#keys[i] = undefined;
          this.#values[i] = undefined;
          this.#reasons[i] = undefined;
        }
      }
      this.#count = 0;
      this.#flushing = false;
    }
    if (failed) throw failure;
  }
}
