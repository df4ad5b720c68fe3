/** Schedules `run` after `ms`; returns a cancel function. Injected so tests control time. */
export type Schedule = (run: () => void, ms: number) => () => void;

export interface FailureDetectorOptions {
  /** Consecutive failures that mark the node down. */
  threshold: number;
  /** Milliseconds between probes while down. */
  probeInterval: number;
  /** Resolves true when the node answers its health check. Must not reject. */
  probe: () => Promise<boolean>;
  schedule?: Schedule;
  /** Called once the node is marked down, with the failure that tipped it. */
  onDown?: (error: Error) => void;
  /** Called once a node marked down is marked up again. */
  onUp?: () => void;
}

/** Background probes must never keep the process alive: the timer is unref'd. */
const unrefSchedule: Schedule = (run, ms) => {
  const timer = setTimeout(run, ms);
  timer.unref();
  return () => clearTimeout(timer);
};

/**
 * Tracks one node's health: `threshold` failures in a row mark it down; while down it is probed
 * every `probeInterval` ms until it answers, and any success marks it up again.
 */
export class FailureDetector {
  readonly #options: FailureDetectorOptions;
  readonly #schedule: Schedule;
  #consecutiveFailures = 0;
  #up = true;
  #cancelProbe: (() => void) | undefined;
  /**
   * Counts the times the node was marked down: a probe still out when the node came back and went
   * down again belongs to an outage that ended, and must not start a second chain of probes
   * beside the new outage's (close() would cancel only one).
   */
  #outages = 0;
  #closed = false;

  constructor(options: FailureDetectorOptions) {
    this.#options = options;
    this.#schedule = options.schedule ?? unrefSchedule;
  }

  get up(): boolean {
    return this.#up;
  }

  get consecutiveFailures(): number {
    return this.#consecutiveFailures;
  }

  recordSuccess(): void {
    this.#consecutiveFailures = 0;
    if (!this.#up) this.#markUp();
  }

  recordFailure(error: Error): void {
    this.#consecutiveFailures++;
    if (this.#up && this.#consecutiveFailures >= this.#options.threshold) {
      this.#up = false;
      this.#outages++;
      this.#scheduleProbe();
      this.#options.onDown?.(error);
    }
  }

  close(): void {
    this.#closed = true;
    this.#cancelProbe?.();
    this.#cancelProbe = undefined;
  }

  #markUp(): void {
    this.#up = true;
    this.#consecutiveFailures = 0;
    this.#cancelProbe?.();
    this.#cancelProbe = undefined;
    this.#options.onUp?.();
  }

  #scheduleProbe(): void {
    if (this.#closed) return;
    const outage = this.#outages;
    this.#cancelProbe = this.#schedule(() => {
      this.#cancelProbe = undefined;
      void this.#options.probe().then((ok) => {
        if (this.#closed || this.#up || outage !== this.#outages) return;
        if (ok) this.#markUp();
        else this.#scheduleProbe();
      });
    }, this.#options.probeInterval);
  }
}
