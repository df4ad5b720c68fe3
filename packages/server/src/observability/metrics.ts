/** Operations counted per request: the `op` label of /metrics and the keys of `requests` in /v1/stats. */
export const OPERATIONS = [
  'get',
  'set',
  'delete',
  'touch',
  'incr',
  'decr',
  'flush',
  'snapshot',
  'fence',
  'list',
  'claim',
  'batch',
  'stats',
  'metrics',
  'health',
] as const;
export type Operation = (typeof OPERATIONS)[number];

/** Upper bounds of the latency histogram, in seconds (Prometheus' unit). */
export const LATENCY_BUCKETS_SECONDS = [
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
] as const;

interface OperationMeter {
  requests: number;
  /** Non-cumulative counts per bucket; the last slot is +Inf. Cumulated when exported. */
  buckets: Float64Array;
  seconds: number;
}

/** Request counters and a latency histogram per operation, plus error responses per status. */
export class RequestMetrics {
  readonly #meters = {} as Record<Operation, OperationMeter>;
  readonly #errors = new Map<number, number>();
  #batchOperations = 0;
  #laneBatches = 0;
  #laneHandOffs = 0;
  #active = 0;

  constructor() {
    for (const op of OPERATIONS) {
      this.#meters[op] = {
        requests: 0,
        buckets: new Float64Array(LATENCY_BUCKETS_SECONDS.length + 1),
        seconds: 0,
      };
    }
  }

  /** A request entered its handler; `record` marks its end. */
  start(): void {
    this.#active++;
  }

  /** Requests inside a handler right now (the one asking included). */
  get active(): number {
    return this.#active;
  }

  /** One request of `op` that took `milliseconds` inside the node. */
  record(op: Operation, milliseconds: number): void {
    this.#active--;
    const meter = this.#meters[op];
    const seconds = milliseconds / 1000;
    meter.requests++;
    meter.seconds += seconds;
    let i = 0;
    while (i < LATENCY_BUCKETS_SECONDS.length && seconds > LATENCY_BUCKETS_SECONDS[i]!) i++;
    meter.buckets[i]!++;
  }

  recordError(status: number): void {
    this.#errors.set(status, (this.#errors.get(status) ?? 0) + 1);
  }

  recordBatchOperations(count: number): void {
    this.#batchOperations += count;
  }

  get batchOperations(): number {
    return this.#batchOperations;
  }

  /**
   * A batch taken by the batch lane (http/batch-lane/), not by Node's HTTP server: each one it
   * counts in `requests.batch` (answered, refused mid-body, or left by its sender).
   */
  recordLaneBatch(): void {
    this.#laneBatches++;
  }

  /** A connection the batch lane handed to Node's HTTP server. */
  recordLaneHandOff(): void {
    this.#laneHandOffs++;
  }

  get laneBatches(): number {
    return this.#laneBatches;
  }

  get laneHandOffs(): number {
    return this.#laneHandOffs;
  }

  /** Requests per operation, e.g. `{ get: 10, set: 2, … }`. */
  requests(): Record<Operation, number> {
    const counts = {} as Record<Operation, number>;
    for (const op of OPERATIONS) counts[op] = this.#meters[op].requests;
    return counts;
  }

  /** Error responses per status, e.g. `{ "404": 3 }`. */
  errors(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const [status, count] of [...this.#errors].sort((a, b) => a[0] - b[0]))
      counts[status] = count;
    return counts;
  }

  /** The histogram of one operation: cumulative bucket counts, sum of seconds, count. */
  histogram(op: Operation): { buckets: number[]; seconds: number; count: number } {
    const meter = this.#meters[op];
    let running = 0;
    const buckets = Array.from(meter.buckets, (n) => (running += n));
    return { buckets, seconds: meter.seconds, count: meter.requests };
  }
}
