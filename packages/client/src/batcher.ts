import type { BatchingStats } from './batching-stats.js';
import { estimatedBytes } from './wire.js';
import type { BatchOp, BatchResult } from './wire.js';
import type { CallTrace } from './telemetry-call.js';

/**
 * The msgpack items a node of an earlier release budgets per operation of a batch: its array and
 * 7 elements (`maxBatchOps` × 8 in all). A read-through's add carries an 8th (`since`), so a full
 * batch of them would be refused whole there (400 bad_batch): the batch is cut to fit that budget.
 */
const ITEMS_PER_OP = 8;

/** Sends one batch; `timeout` is what is left of its oldest operation's time, in milliseconds. */
export type SendBatch = (ops: readonly BatchOp[], timeout: number) => Promise<BatchResult[]>;

export interface BatcherOptions {
  send: SendBatch;
  /** Most operations per batch. */
  maxBatchSize: number;
  /** Most estimated body bytes per batch (`estimatedBytes`); a bigger single operation goes alone. */
  maxBatchBytes: number;
  /** Milliseconds an operation may take from enqueue to answer, waiting in the queue included. */
  timeout: number;
  /** Does this failure of a batch mean the node is failing? Then what queued behind it fails too. */
  failsQueue: (error: unknown) => boolean;
  /** The error for operations whose whole `timeout` passed while they waited to be sent. */
  expired: () => Error;
  /** Batches on the wire at once. @default 1 */
  maxInFlight?: number;
  /** The clock, in milliseconds (injected by tests). @default performance.now */
  now?: () => number;
}

/**
 * Auto-batching for one node, as DataLoader and ioredis auto-pipelining do: operations enqueued in
 * the same tick are sent as one batch (split at `maxBatchSize` operations or `maxBatchBytes`) on
 * `process.nextTick`, which runs after the current promise chains settle; each caller gets its own
 * result or the batch's error.
 *
 * Nagle-free, with no timer: with nothing on the wire an operation leaves on the next tick. With a
 * batch on the wire, what is issued meanwhile waits and leaves as one batch when an answer lands —
 * after that turn's I/O (`setImmediate`), so that the next operations of callers woken by other
 * nodes' answers read in the same turn travel too — or, while fewer than `maxInFlight` batches are
 * out, as soon as the queue is as long as the last batch sent: the load outpaces the answers, so
 * another batch goes out rather than wait. Batch size follows the load. Sending whatever is queued
 * whenever a slot is free instead collapses batching under load: each response wakes callers whose
 * next operations spread over several nodes, so every response begets several smaller requests
 * until each carries a single operation (measured: 1.5 operations per request).
 *
 * An operation's `timeout` counts from when it was enqueued: a batch is sent with what is left of
 * its oldest operation's time, and the operations whose own time ran out in the queue fail without
 * being sent (the others go on). When a batch fails because the node is failing, the operations
 * queued behind it fail with it rather than wait for the same node a second time: a hung node
 * costs a caller one `timeout`, not two. A refusal (a 4xx, e.g. a body too large) fails only its own batch.
 */
export class Batcher {
  readonly #send: SendBatch;
  readonly #maxBatchSize: number;
  readonly #maxBatchBytes: number;
  readonly #timeout: number;
  readonly #failsQueue: (error: unknown) => boolean;
  readonly #expired: () => Error;
  readonly #maxInFlight: number;
  readonly #now: () => number;
  #ops: BatchOp[] = [];
  #resolves: ((result: BatchResult) => void)[] = [];
  #rejects: ((error: unknown) => void)[] = [];
  /** When each queued operation was enqueued (the queue is FIFO, so oldest first). */
  #queuedAt: number[] = [];
  /** Sum of `estimatedBytes` over the queue. */
  #queuedBytes = 0;
  /**
   * Traced calls' operations still queued, by their resolve function: told their batch's size when
   * it leaves. Empty unless a tracing SDK is registered, so untraced batches check one size.
   */
  readonly #traces = new Map<(result: BatchResult) => void, CallTrace>();
  /** `flush` operations queued: each leaves only with nothing on the wire (see `flush`). */
  #queuedFlushes = 0;
  #scheduled = false;
  #inFlight = 0;
  #batches = 0;
  #operations = 0;
  /** Operations in the last batch sent: a queue this long is full enough to use another slot. */
  #lastBatch = 1;
  /** Batches in flight integrated over time (batch·ms) up to `#changedAt`. */
  #inFlightMs = 0;
  #changedAt = 0;
  readonly #flush = (): void => this.flush();
  readonly #landed = (): void => {
    this.#inFlightChanges(-1);
    if (this.#ops.length === 0 || this.#scheduled) return;
    // After this turn's I/O rather than on the next tick: the callers just resolved queue their
    // next operations first, and so do those of other nodes' answers read in the same turn.
    this.#scheduled = true;
    setImmediate(this.#flush);
  };

  constructor(options: BatcherOptions) {
    this.#send = options.send;
    this.#maxBatchSize = options.maxBatchSize;
    this.#maxBatchBytes = options.maxBatchBytes;
    this.#timeout = options.timeout;
    this.#failsQueue = options.failsQueue;
    this.#expired = options.expired;
    this.#maxInFlight = options.maxInFlight ?? 1;
    this.#now = options.now ?? (() => performance.now());
  }

  /** Batches on the wire right now. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Operations waiting to be sent. */
  get queued(): number {
    return this.#ops.length;
  }

  /** Batches sent, operations they carried, and batches in flight integrated over time. */
  stats(): BatchingStats {
    const inFlightMs = this.#inFlightMs + this.#inFlight * (this.#now() - this.#changedAt);
    return { batches: this.#batches, operations: this.#operations, inFlightMs };
  }

  #inFlightChanges(by: 1 | -1): void {
    const now = this.#now();
    this.#inFlightMs += this.#inFlight * (now - this.#changedAt);
    this.#changedAt = now;
    this.#inFlight += by;
  }

  enqueue(op: BatchOp, trace?: CallTrace): Promise<BatchResult> {
    return new Promise<BatchResult>((resolve, reject) => {
      if (trace !== undefined) this.#traces.set(resolve, trace);
      this.#ops.push(op);
      this.#resolves.push(resolve);
      this.#rejects.push(reject);
      this.#queuedAt.push(this.#now());
      this.#queuedBytes += estimatedBytes(op);
      if (op[0] === 'flush') this.#queuedFlushes++;
      // Nothing on the wire: it leaves this tick. Something on the wire: it waits for an answer
      // (the landing batch plans the flush), unless the queue has grown as long as the last batch
      // sent and a slot is free — the load outpaces the answers, so another batch goes out now.
      if (this.#inFlight === 0) this.#schedule();
      else if (this.#inFlight < this.#maxInFlight && this.#ops.length >= this.#lastBatch) {
        this.#schedule();
      }
    });
  }

  /** Sends what is queued, as far as the in-flight cap allows. */
  flush(): void {
    this.#scheduled = false;
    while (this.#ops.length > 0 && this.#inFlight < this.#maxInFlight) {
      const now = this.#now();
      // Operations whose whole time passed while they waited (a prefix: the queue is FIFO).
      let expired = 0;
      while (expired < this.#ops.length && now - this.#queuedAt[expired]! >= this.#timeout) {
        expired++;
      }
      if (expired > 0) {
        const error = this.#expired();
        const { resolves, rejects } = this.#take(expired);
        if (this.#traces.size > 0) for (const resolve of resolves) this.#traces.delete(resolve);
        for (const reject of rejects) reject(error);
        continue;
      }
      let count = this.#nextBatchLength();
      if (this.#queuedFlushes > 0 && this.#inFlight > 0) {
        // A flush lands after everything sent to the node before it (flush.ts): with a batch on
        // the wire it waits for the wire to clear; only what was queued before it may leave now.
        const at = this.#ops.findIndex((op) => op[0] === 'flush');
        if (at === 0) break;
        count = Math.min(count, at);
      }
      const left = this.#timeout - (now - this.#queuedAt[0]!);
      const { ops, resolves, rejects } = this.#take(count);
      if (this.#traces.size > 0) this.#tellBatchSize(resolves, count);
      this.#inFlightChanges(1);
      this.#batches++;
      this.#operations += count;
      this.#lastBatch = count;
      // Not in a .finally: that would plan the next flush a microtask after the callers woke.
      void this.#send(ops, left).then(
        (results) => {
          for (let i = 0; i < count; i++) resolves[i]!(results[i]!);
          this.#landed();
        },
        (error: unknown) => {
          for (let i = 0; i < count; i++) rejects[i]!(error);
          if (this.#failsQueue(error)) this.#failQueued(error);
          this.#landed();
        },
      );
    }
  }

  /** How many queued operations the next batch takes: all of them unless a limit cuts it short. */
  #nextBatchLength(): number {
    const ops = this.#ops;
    const maxItems = this.#maxBatchSize * ITEMS_PER_OP;
    if (
      ops.length <= this.#maxBatchSize &&
      this.#queuedBytes <= this.#maxBatchBytes &&
      ops.length * (ITEMS_PER_OP + 1) <= maxItems
    ) {
      return ops.length;
    }
    let count = 0;
    let bytes = 0;
    let items = 0;
    for (const op of ops) {
      bytes += estimatedBytes(op);
      items += 1 + op.length;
      if (count > 0 && (bytes > this.#maxBatchBytes || items > maxItems)) break;
      if (++count === this.#maxBatchSize) break;
    }
    return count;
  }

  /** Removes the first `count` queued operations, with their callbacks. */
  #take(count: number): {
    ops: BatchOp[];
    resolves: ((result: BatchResult) => void)[];
    rejects: ((error: unknown) => void)[];
  } {
    const ops = this.#ops;
    const resolves = this.#resolves;
    const rejects = this.#rejects;
    if (this.#queuedFlushes > 0) {
      for (let i = 0; i < count; i++) if (ops[i]![0] === 'flush') this.#queuedFlushes--;
    }
    if (count === ops.length) {
      // The usual case: hand the whole queue over instead of copying it.
      this.#ops = [];
      this.#resolves = [];
      this.#rejects = [];
      this.#queuedAt = [];
      this.#queuedBytes = 0;
      return { ops, resolves, rejects };
    }
    const taken = ops.splice(0, count);
    this.#queuedAt.splice(0, count);
    for (const op of taken) this.#queuedBytes -= estimatedBytes(op);
    return { ops: taken, resolves: resolves.splice(0, count), rejects: rejects.splice(0, count) };
  }

  #failQueued(error: unknown): void {
    if (this.#ops.length === 0) return;
    const { resolves, rejects } = this.#take(this.#ops.length);
    if (this.#traces.size > 0) for (const resolve of resolves) this.#traces.delete(resolve);
    for (const reject of rejects) reject(error);
  }

  #tellBatchSize(resolves: readonly ((result: BatchResult) => void)[], count: number): void {
    for (const resolve of resolves) {
      const trace = this.#traces.get(resolve);
      if (trace === undefined) continue;
      this.#traces.delete(resolve);
      trace.batchSize = Math.max(trace.batchSize, count);
    }
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    process.nextTick(this.#flush);
  }
}
