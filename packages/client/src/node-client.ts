import { Batcher } from './batcher.js';
import { FailureDetector } from './failure-detector.js';
import { isNodeRequestError } from './errors/node-request-error.js';
import type { Transport } from './transport.js';
import type { BatchOp, BatchResult } from './wire.js';

export interface NodeClientOptions {
  transport: Transport;
  maxBatchSize: number;
  failureThreshold: number;
  probeInterval: number;
}

/** Does this failure say anything about the node's health? A 4xx is the node answering. */
function countsAsFailure(error: unknown): boolean {
  return !(isNodeRequestError(error) && error.refused);
}

/** One node of the cluster: its request path (batched or not) and its health. */
export class NodeClient {
  readonly url: string;
  readonly health: FailureDetector;
  readonly #transport: Transport;
  readonly #batcher: Batcher;
  readonly #sendBatch = (ops: readonly BatchOp[]): Promise<BatchResult[]> => this.send(ops);

  constructor(url: string, options: NodeClientOptions) {
    this.url = url;
    this.#transport = options.transport;
    this.#batcher = new Batcher(this.#sendBatch, options.maxBatchSize);
    this.health = new FailureDetector({
      threshold: options.failureThreshold,
      probeInterval: options.probeInterval,
      probe: () => options.transport.healthy(url),
    });
  }

  get up(): boolean {
    return this.health.up;
  }

  /** Runs one operation: queued for this tick's batch, or as a request of its own. */
  run(op: BatchOp, queued: boolean): Promise<BatchResult> {
    if (queued) return this.#batcher.enqueue(op);
    return this.send([op]).then((results) => results[0]!);
  }

  /** One `POST /v1/batch`, feeding the outcome to the failure detector. */
  async send(ops: readonly BatchOp[]): Promise<BatchResult[]> {
    try {
      const results = await this.#transport.batch(this.url, ops);
      this.health.recordSuccess();
      return results;
    } catch (error) {
      if (countsAsFailure(error)) this.health.recordFailure();
      throw error;
    }
  }

  stats(): Promise<unknown> {
    return this.#transport.json(this.url, '/v1/stats');
  }

  close(): void {
    this.health.close();
  }
}
