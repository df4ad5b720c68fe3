/** Options of {@link StallDetector}. */
export interface StallDetectorOptions {
  /** A gap between two looks at the clock longer than this many ms is a stall. */
  thresholdMs: number;
  /** Called once per stall, with its length in ms. */
  onStall: (gapMs: number) => void;
  /** Monotonic ms; inject one in tests. @default performance.now */
  monotonic?: () => number;
  /** Period of the background look, in ms. @default 100 */
  intervalMs?: number;
}

/**
 * Notices that the event loop did not run for a while: SIGSTOP, a frozen VM, a very long GC.
 * A node that was stopped may have missed writes, so its owner fences what it holds.
 *
 * An unref'd interval looks at the clock; so does `check()`, which the request path calls before
 * it serves reads. Both are needed: after SIGCONT libuv runs the I/O that piled up (the requests
 * that waited in the socket) before the next timer, so only `check()` can see the stall before
 * the first of them is answered. Uses a monotonic clock, never the node's injectable `now`: a
 * test clock jumping ahead is not a stall.
 */
export class StallDetector {
  readonly #thresholdMs: number;
  readonly #onStall: (gapMs: number) => void;
  readonly #monotonic: () => number;
  readonly #intervalMs: number;
  #last: number;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: StallDetectorOptions) {
    this.#thresholdMs = options.thresholdMs;
    this.#onStall = options.onStall;
    this.#monotonic = options.monotonic ?? (() => performance.now());
    this.#intervalMs = options.intervalMs ?? 100;
    this.#last = this.#monotonic();
  }

  /** Starts the background look (idempotent). */
  start(): void {
    if (this.#timer !== undefined) return;
    this.#last = this.#monotonic();
    this.#timer = setInterval(() => this.check(), this.#intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Looks at the clock now; reports a stall if the last look was longer ago than the threshold. */
  check(): void {
    if (this.#timer === undefined) return;
    const now = this.#monotonic();
    const gap = now - this.#last;
    this.#last = now;
    if (gap > this.#thresholdMs) this.#onStall(gap);
  }
}
