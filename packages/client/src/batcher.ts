import type { BatchOp, BatchResult } from './wire.js';

export type SendBatch = (ops: readonly BatchOp[]) => Promise<BatchResult[]>;

/**
 * Auto-batching for one node, as DataLoader and ioredis auto-pipelining do: operations enqueued in
 * the same tick are sent as one batch (split at `maxBatchSize`) on `process.nextTick`, which runs
 * after the current promise chains settle; each caller gets its own result or the batch's error.
 *
 * At most `maxInFlight` batches per node are on the wire; operations issued meanwhile wait and
 * leave together when one returns — after that turn's I/O (`setImmediate`), so that the next
 * operations of callers woken by other nodes' answers read in the same turn travel too. Without
 * that cap batching collapses under load: each response wakes callers whose next operations
 * spread over several nodes, so every response begets several smaller requests until each carries
 * a single operation (measured: 1.5 operations per request).
 * When a batch fails, the operations queued behind it fail with it rather than wait for the same
 * node a second time: a hung node costs a caller one `timeout`, not two.
 */
export class Batcher {
  readonly #send: SendBatch;
  readonly #maxBatchSize: number;
  readonly #maxInFlight: number;
  #ops: BatchOp[] = [];
  #resolves: ((result: BatchResult) => void)[] = [];
  #rejects: ((error: unknown) => void)[] = [];
  #scheduled = false;
  #inFlight = 0;
  readonly #flush = (): void => this.flush();
  readonly #landed = (): void => {
    this.#inFlight--;
    if (this.#ops.length === 0 || this.#scheduled) return;
    // After this turn's I/O rather than on the next tick: the callers just resolved queue their
    // next operations first, and so do those of other nodes' answers read in the same turn.
    this.#scheduled = true;
    setImmediate(this.#flush);
  };

  constructor(send: SendBatch, maxBatchSize: number, maxInFlight = 1) {
    this.#send = send;
    this.#maxBatchSize = maxBatchSize;
    this.#maxInFlight = maxInFlight;
  }

  /** Batches on the wire right now. */
  get inFlight(): number {
    return this.#inFlight;
  }

  enqueue(op: BatchOp): Promise<BatchResult> {
    return new Promise<BatchResult>((resolve, reject) => {
      this.#ops.push(op);
      this.#resolves.push(resolve);
      this.#rejects.push(reject);
      // With every slot taken there is nothing to flush yet: the landing batch plans the flush.
      if (this.#inFlight < this.#maxInFlight) this.#schedule();
    });
  }

  /** Sends what is queued, as far as the in-flight cap allows. */
  flush(): void {
    this.#scheduled = false;
    while (this.#ops.length > 0 && this.#inFlight < this.#maxInFlight) {
      const count = Math.min(this.#ops.length, this.#maxBatchSize);
      let ops = this.#ops;
      let resolves = this.#resolves;
      let rejects = this.#rejects;
      if (count === ops.length) {
        // The usual case: hand the whole queue over instead of copying it.
        this.#ops = [];
        this.#resolves = [];
        this.#rejects = [];
      } else {
        ops = ops.splice(0, count);
        resolves = resolves.splice(0, count);
        rejects = rejects.splice(0, count);
      }
      this.#inFlight++;
      // Not in a .finally: that would plan the next flush a microtask after the callers woke.
      void this.#send(ops).then(
        (results) => {
          for (let i = 0; i < count; i++) resolves[i]!(results[i]!);
          this.#landed();
        },
        (error: unknown) => {
          for (let i = 0; i < count; i++) rejects[i]!(error);
          this.#failQueued(error);
          this.#landed();
        },
      );
    }
  }

  #failQueued(error: unknown): void {
    if (this.#ops.length === 0) return;
    const rejects = this.#rejects;
    this.#ops = [];
    this.#resolves = [];
    this.#rejects = [];
    for (const reject of rejects) reject(error);
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    process.nextTick(this.#flush);
  }
}
