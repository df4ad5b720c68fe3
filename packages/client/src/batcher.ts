import type { BatchOp, BatchResult } from './wire.js';

export type SendBatch = (ops: readonly BatchOp[]) => Promise<BatchResult[]>;

/**
 * Auto-batching for one node, as DataLoader and ioredis auto-pipelining do: operations enqueued in
 * the same tick are sent as one batch (split at `maxBatchSize`) on `process.nextTick`, which runs
 * after the current promise chains settle; each caller gets its own result or the batch's error.
 */
export class Batcher {
  readonly #send: SendBatch;
  readonly #maxBatchSize: number;
  #ops: BatchOp[] = [];
  #resolves: ((result: BatchResult) => void)[] = [];
  #rejects: ((error: unknown) => void)[] = [];
  #scheduled = false;
  readonly #flush = (): void => this.flush();

  constructor(send: SendBatch, maxBatchSize: number) {
    this.#send = send;
    this.#maxBatchSize = maxBatchSize;
  }

  enqueue(op: BatchOp): Promise<BatchResult> {
    return new Promise<BatchResult>((resolve, reject) => {
      this.#ops.push(op);
      this.#resolves.push(resolve);
      this.#rejects.push(reject);
      if (!this.#scheduled) {
        this.#scheduled = true;
        process.nextTick(this.#flush);
      }
    });
  }

  /** Sends everything queued now. */
  flush(): void {
    this.#scheduled = false;
    const ops = this.#ops;
    const resolves = this.#resolves;
    const rejects = this.#rejects;
    if (ops.length === 0) return;
    this.#ops = [];
    this.#resolves = [];
    this.#rejects = [];
    for (let start = 0; start < ops.length; start += this.#maxBatchSize) {
      const end = Math.min(start + this.#maxBatchSize, ops.length);
      const chunk = start === 0 && end === ops.length ? ops : ops.slice(start, end);
      this.#send(chunk).then(
        (results) => {
          for (let i = start; i < end; i++) resolves[i]!(results[i - start]!);
        },
        (error: unknown) => {
          for (let i = start; i < end; i++) rejects[i]!(error);
        },
      );
    }
  }
}
