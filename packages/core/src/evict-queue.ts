/**
 * onEvict notifications waiting for the operation that caused them to finish. Delivering them
 * only then means a callback sees a consistent cache and may call back into it (its own
 * notifications join the queue and are delivered by the same flush).
 */
import type { EvictionReason } from './types.js';

export class EvictQueue<V> {
  readonly #onEvict: (key: string, value: V, reason: EvictionReason) => void;
  #keys: string[] = [];
  #values: V[] = [];
  #reasons: EvictionReason[] = [];
  #flushing = false;

  constructor(onEvict: (key: string, value: V, reason: EvictionReason) => void) {
    this.#onEvict = onEvict;
  }

  /** Whether a flush has work to do (false while one is already running further up the stack). */
  get due(): boolean {
    return this.#keys.length !== 0 && !this.#flushing;
  }

  push(key: string, value: V, reason: EvictionReason): void {
    this.#keys.push(key);
    this.#values.push(value);
    this.#reasons.push(reason);
  }

  /**
   * Delivers everything queued, including what callbacks queue meanwhile. A throwing callback
   * does not stop the others; the first error is rethrown once all were delivered.
   */
  flush(): void {
    this.#flushing = true;
    let failed = false;
    let failure: unknown;
    try {
      for (let i = 0; i < this.#keys.length; i++) {
        try {
          this.#onEvict(this.#keys[i]!, this.#values[i]!, this.#reasons[i]!);
        } catch (error) {
          if (!failed) {
            failed = true;
            failure = error;
          }
        }
      }
    } finally {
      this.#keys.length = 0;
      this.#values.length = 0;
      this.#reasons.length = 0;
      this.#flushing = false;
    }
    if (failed) throw failure;
  }
}
