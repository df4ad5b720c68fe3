import { Batcher } from './batcher.js';
import type { BatchingStats } from './batching-stats.js';
import { FailureDetector } from './failure-detector.js';
import { isNodeRequestError } from './errors/node-request-error.js';
import { isNodeTimeoutError, NodeTimeoutError } from './errors/node-timeout-error.js';
import { callHook } from './hooks.js';
import type { ClientHooks } from './hooks.js';
import { asError } from './results.js';
import type { CallTrace } from './telemetry-call.js';
import type { Transport } from './transport.js';
import type { BatchOp, BatchResult } from './wire.js';

export interface NodeClientOptions extends Pick<ClientHooks, 'onNodeDown' | 'onNodeUp'> {
  transport: Transport;
  timeout: number;
  maxBatchSize: number;
  maxBatchBytes: number;
  maxBatchesInFlight: number;
  failureThreshold: number;
  probeInterval: number;
}

/**
 * The least time a hint hand-off gets (ms). Nobody waits on it, and the client's `timeout` may be
 * tuned to tens of milliseconds: at that, a holder a little slow to answer drops the hint, and a
 * dropped hint fences the whole missed node (every read of it then needs a peer's word). A holder
 * that just took the write is up; the hint only needs the time to get there.
 */
export const BACKGROUND_TIMEOUT_MIN = 1000;

/** Does this failure say anything about the node's health? A 4xx is the node answering. */
function countsAsFailure(error: unknown): boolean {
  if (isNodeTimeoutError(error) && error.waitedForConnection) return false;
  return !(isNodeRequestError(error) && error.refused);
}

/** One node of the cluster: its request path (batched or not) and its health. */
export class NodeClient {
  readonly url: string;
  readonly health: FailureDetector;
  readonly #transport: Transport;
  readonly #timeout: number;
  readonly #batcher: Batcher;
  readonly #options: NodeClientOptions;
  /** The lane for work nobody waits on, with its longer timeout; made on first use. */
  #background: Batcher | undefined;
  /** Requests to this node on the wire, and who waits for there to be none. */
  readonly #inFlight = new Set<Promise<unknown>>();
  #idleWaiters: (() => void)[] = [];
  #heldOut: Promise<void> | undefined;

  constructor(url: string, options: NodeClientOptions) {
    this.url = url;
    this.#transport = options.transport;
    this.#timeout = options.timeout;
    this.#options = options;
    this.#batcher = this.#lane(options.timeout, options.maxBatchesInFlight);
    this.health = new FailureDetector({
      threshold: options.failureThreshold,
      probeInterval: options.probeInterval,
      probe: () => options.transport.healthy(url),
      onDown: (error) => callHook('onNodeDown', options.onNodeDown, url, error),
      onUp: () => callHook('onNodeUp', options.onNodeUp, url),
    });
  }

  /**
   * Up, and not held out of routing: a node back from an outage during which it missed writes is
   * held out until it is fenced (node-return.ts), so no operation reaches it in between.
   */
  get up(): boolean {
    return this.health.up && this.#heldOut === undefined;
  }

  /** Keeps this node out of routing (`up` false) until `work` settles. */
  holdOutUntil(work: Promise<void>): void {
    const held: Promise<void> = work.finally(() => {
      if (this.#heldOut === held) this.#heldOut = undefined;
    });
    this.#heldOut = held;
  }

  /**
   * A batcher sending to this node whose operations each get `timeout` ms, with at most
   * `maxInFlight` batches on the wire.
   */
  #lane(timeout: number, maxInFlight: number): Batcher {
    const options = this.#options;
    return new Batcher({
      send: (ops, left) => this.send(ops, left),
      maxBatchSize: options.maxBatchSize,
      maxBatchBytes: options.maxBatchBytes,
      maxInFlight,
      timeout,
      failsQueue: countsAsFailure,
      expired: () => new NodeTimeoutError(this.url, timeout),
    });
  }

  /** Something for this node is queued or on the wire. */
  get busy(): boolean {
    return (
      this.#inFlight.size > 0 || this.#batcher.queued > 0 || (this.#background?.queued ?? 0) > 0
    );
  }

  /** What this node's batcher did (`getBatchingStats`). */
  batchingStats(): BatchingStats {
    const own = this.#batcher.stats();
    if (this.#background === undefined) return own;
    const hints = this.#background.stats();
    return {
      batches: own.batches + hints.batches,
      operations: own.operations + hints.operations,
      inFlightMs: own.inFlightMs + hints.inFlightMs,
    };
  }

  /**
   * Resolves once no request to this node is on the wire. Queued operations leave within the turn,
   * and answers beget more work (a replica after a miss, a repair), so callers re-check `busy`.
   */
  whenIdle(): Promise<void> {
    if (this.#inFlight.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /**
   * Resolves once the requests on the wire now have answered or failed (not those sent later):
   * what was sent before a point in time has landed, or will not be acknowledged.
   */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.#inFlight]);
  }

  /**
   * Runs one operation: queued for this tick's batch, or as a request of its own. A traced call's
   * `trace` learns the size of the batch the operation rode in.
   */
  run(op: BatchOp, queued: boolean, trace?: CallTrace): Promise<BatchResult> {
    if (queued) return this.#batcher.enqueue(op, trace);
    if (trace !== undefined) trace.batchSize = Math.max(trace.batchSize, 1);
    return this.send([op]).then((results) => results[0]!);
  }

  /**
   * Runs one operation nobody waits on (a hint hand-off) in batches of its own, one on the wire at
   * a time, each operation given `timeout` or {@link BACKGROUND_TIMEOUT_MIN} ms, whichever is
   * longer: batched with the callers' operations it would share their `timeout`.
   */
  runInBackground(op: BatchOp): Promise<BatchResult> {
    this.#background ??= this.#lane(Math.max(this.#timeout, BACKGROUND_TIMEOUT_MIN), 1);
    return this.#background.enqueue(op);
  }

  /** One `POST /v1/batch` bounded by `timeout` ms, feeding the outcome to the failure detector. */
  async send(ops: readonly BatchOp[], timeout = this.#timeout): Promise<BatchResult[]> {
    const request = this.#transport.batch(this.url, ops, timeout);
    this.#inFlight.add(request);
    try {
      const results = await request;
      this.health.recordSuccess();
      return results;
    } catch (error) {
      if (countsAsFailure(error)) this.health.recordFailure(asError(error));
      // One operation alone past the node's batch limit (a value over 16 MiB by default): its
      // refusal, as a value over maxValueBytes gets, so the caller sees OperationRejectedError.
      if (ops.length === 1 && isNodeRequestError(error) && error.status === 413) {
        await this.#dropReplaced(ops[0]!);
        return [[413, error.code ?? 'too_large', error.message]];
      }
      throw error;
    } finally {
      this.#inFlight.delete(request);
      if (this.#inFlight.size === 0) this.#wakeIdleWaiters();
    }
  }

  /**
   * An unconditional set too large for a request at all: the node never read it, so it could not
   * drop the value the set was to replace, as it does for one over its maxValueBytes (and
   * memcached's set does). A delete does, so readers stop getting that value: just below the set's
   * stamp, as the node's own tombstone is, so a replica with more room that stored the set keeps it.
   */
  async #dropReplaced(op: BatchOp): Promise<void> {
    if (op[0] !== 'set' || op[5] !== null) return;
    try {
      await this.send([['delete', op[1], Math.max(0, op[6] - 1)]]);
    } catch {
      // The node's failure reached the failure detector; the set's refusal is the caller's answer.
    }
  }

  stats(): Promise<unknown> {
    return this.#transport.json(this.url, '/v1/stats');
  }

  close(): void {
    this.health.close();
  }

  #wakeIdleWaiters(): void {
    const waiters = this.#idleWaiters;
    if (waiters.length === 0) return;
    this.#idleWaiters = [];
    for (const wake of waiters) wake();
  }
}
