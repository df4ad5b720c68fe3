import { HttpError } from './errors/http-error.js';

/** Seconds a refused client is asked to wait: bodies in flight usually finish well within it. */
export const RETRY_AFTER_SECONDS = 1;

/**
 * The node's budget of request-body bytes in flight: every body reader (body.ts, which both the
 * hono routes and the batch fast path use) reserves a body's bytes here before holding them and
 * releases them once the body is read, refused or abandoned. A body that would take the total past
 * `limit` is refused with 503 `overloaded` instead of waiting: a waiting body would itself hold a
 * connection and its partial bytes, so stalled clients would queue the good ones behind them.
 */
export class InflightBudget {
  readonly limit: number;
  #used = 0;

  constructor(limit: number) {
    this.limit = limit;
  }

  /** Bytes reserved now. */
  get used(): number {
    return this.#used;
  }

  /** Whether `bytes` more would fit now. */
  fits(bytes: number): boolean {
    return this.#used + bytes <= this.limit;
  }

  /** Takes `bytes` from the budget, or throws the 503 when they do not fit. */
  reserve(bytes: number): void {
    if (!this.fits(bytes)) {
      throw new HttpError(
        503,
        'overloaded',
        `the node is receiving ${this.#used} bytes of request bodies; ${bytes} more would pass maxInflightBodyBytes (${this.limit}): retry shortly`,
        { headers: { 'retry-after': `${RETRY_AFTER_SECONDS}` } },
      );
    }
    this.#used += bytes;
  }

  release(bytes: number): void {
    this.#used -= bytes;
  }
}
