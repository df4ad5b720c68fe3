import type { Agent, Dispatcher } from 'undici';

/** A node's answer to one request, read whole: status, body bytes, `Dcache-Clock`, `Dcache-Start`. */
export interface RawAnswer {
  status: number;
  body: Uint8Array;
  clock: number | undefined;
  /** The node's start (it changes when the node restarts). */
  start: string | undefined;
  /** `Retry-After`, as sent (a refusal's: 503 `overloaded`). */
  retryAfter: string | undefined;
}

export interface RawRequest {
  origin: string;
  path: string;
  method: Dispatcher.HttpMethod;
  headers: Record<string, string>;
  body: Uint8Array | null;
  /** Milliseconds the whole exchange may take, connecting included. */
  timeout: number;
  /**
   * The error the caller gets when `timeout` passes first; `waitedForConnection` when the request
   * never went out while others to the same node were on the wire (see {@link Wire}).
   */
  timedOut: (waitedForConnection: boolean) => Error;
  /** The exchanges on the wire to the request's node, shared by all its requests. */
  wire: Wire;
}

/** The exchanges with one node, shared by all its requests. */
export interface Wire {
  /** On the wire: written to a connection, not yet answered. */
  active: number;
  /** Handed to the agent and not settled yet: at most `limit`. */
  dispatched: number;
  /** The agent's connections to the node. */
  readonly limit: number;
  /** Exchanges waiting for one of those to settle, oldest first; one that times out leaves. */
  readonly waiting: Set<() => void>;
}

/** A node's exchanges, at most `limit` handed to the agent at once (its connections per node). */
export function newWire(limit: number): Wire {
  return { active: 0, dispatched: 0, limit, waiting: new Set() };
}

/**
 * One exchange straight on undici's dispatcher — no WHATWG Request or Response, no ky — for the
 * batched data path, where a request per batch is paid per operation (see transport.ts). Resolves
 * to the answer whatever its status; rejects on a connection error or at `timeout`, when the
 * unanswered request is aborted (which gives its connection up).
 *
 * At most `wire.limit` exchanges with a node are handed to the agent at once (`agent()`, asked
 * when one is: the transport replaces its agent when a node moves); the others wait here. undici's
 * own queue cannot drop a request that timed out in it: it hands it a connection later, and
 * aborting it then destroys that connection. A burst of `batch: false` calls that outlasted the
 * timeout on a slow node thus cost a connection per stale request, for seconds after, and starved
 * the next calls (measured: 5,445 connections for 649 requests, 41% of them timing out, where the
 * same calls alone all succeed on 64). Here a request that times out waiting just leaves the queue.
 */
export function exchange(agent: () => Agent, request: RawRequest): Promise<RawAnswer> {
  return new Promise<RawAnswer>((resolve, reject) => {
    const wire = request.wire;
    const handler = new AnswerHandler(resolve, reject, request.timeout, request.timedOut, wire);
    const dispatch = (): void => {
      // Its time ran out while it waited (its timer is due): a slot freed by a timeout of the
      // same burst must not hand undici a request it would only abort, with its connection.
      if (handler.overdue()) {
        handler.timeOut();
        return;
      }
      wire.dispatched++;
      handler.dispatched = true;
      agent().dispatch(
        {
          origin: request.origin,
          path: request.path,
          method: request.method,
          headers: request.headers,
          body: request.body,
        },
        handler,
      );
    };
    handler.dispatch = dispatch;
    if (wire.dispatched < wire.limit) dispatch();
    else wire.waiting.add(dispatch);
  });
}

/** Hands the oldest waiting exchanges to the agent while the node has slots free. */
function dispatchWaiting(wire: Wire): void {
  while (wire.dispatched < wire.limit && wire.waiting.size > 0) {
    const next = wire.waiting.values().next().value!;
    wire.waiting.delete(next);
    next();
  }
}

/** Gathers one answer whole — status, clock and body bytes — or fails it (error or timeout). */
class AnswerHandler implements Dispatcher.DispatchHandler {
  readonly #resolve: (answer: RawAnswer) => void;
  readonly #reject: (error: Error) => void;
  readonly #timer: NodeJS.Timeout;
  readonly #timedOut: (waitedForConnection: boolean) => Error;
  /** When its timer is due (`performance.now()`). */
  readonly #deadline: number;
  #status = 0;
  #clock: number | undefined;
  #start: string | undefined;
  #retryAfter: string | undefined;
  #chunks: Buffer[] = [];
  #controller: Dispatcher.DispatchController | undefined;
  #settled = false;
  readonly #wire: Wire;
  /** Written to a connection (undici starts a request once it has a connected socket for it). */
  #started = false;
  /** Handed to the agent (`exchange` sets it), rather than still waiting in `wire.waiting`. */
  dispatched = false;
  /** What hands it to the agent (`exchange` sets it): its entry in `wire.waiting`. */
  dispatch: (() => void) | undefined;

  constructor(
    resolve: (answer: RawAnswer) => void,
    reject: (error: Error) => void,
    timeoutMs: number,
    timedOut: (waitedForConnection: boolean) => Error,
    wire: Wire,
  ) {
    this.#resolve = resolve;
    this.#reject = reject;
    this.#wire = wire;
    this.#timedOut = timedOut;
    this.#deadline = performance.now() + timeoutMs;
    this.#timer = setTimeout(() => this.timeOut(), timeoutMs);
  }

  /** Its `timeout` has passed (its timer may not have fired yet). */
  overdue(): boolean {
    return performance.now() >= this.#deadline;
  }

  timeOut(): void {
    // Never sent while other exchanges with the node were under way: it waited behind them for a
    // connection. Never sent with none under way: the node is not taking connections.
    this.#fail(this.#timedOut(!this.#started && this.#wire.active > 0));
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    // Timed out while still queued for a connection: never send it.
    if (this.#settled) {
      controller.abort(new Error('request abandoned'));
      return;
    }
    this.#started = true;
    this.#wire.active++;
  }

  onResponseStart(
    _controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
  ): void {
    // Called again after a 1xx: the last status is the answer's.
    this.#status = statusCode;
    this.#chunks = [];
    const clock = headers['dcache-clock'];
    this.#clock = typeof clock === 'string' ? Number(clock) : undefined;
    const start = headers['dcache-start'];
    this.#start = typeof start === 'string' ? start : undefined;
    // Only a refusal's is read (a 503 `overloaded`): not a lookup per answered batch.
    const retryAfter = statusCode >= 300 ? headers['retry-after'] : undefined;
    this.#retryAfter = typeof retryAfter === 'string' ? retryAfter : undefined;
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.#chunks.push(chunk);
  }

  onResponseEnd(): void {
    if (this.#settled) return;
    this.#settle();
    const chunks = this.#chunks;
    const joined = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
    // A plain Uint8Array, not a Buffer: msgpackr then hands out bins as Uint8Array too.
    const body = new Uint8Array(joined.buffer, joined.byteOffset, joined.byteLength);
    this.#resolve({
      status: this.#status,
      body,
      clock: this.#clock,
      start: this.#start,
      retryAfter: this.#retryAfter,
    });
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.#fail(error);
  }

  /** Rejects the caller and abandons the exchange (its connection is closed by undici). */
  #fail(error: Error): void {
    if (this.#settled) return;
    this.#settle();
    this.#reject(error);
    this.#controller?.abort(error);
  }

  #settle(): void {
    this.#settled = true;
    clearTimeout(this.#timer);
    const wire = this.#wire;
    if (this.#started) wire.active--;
    if (!this.dispatched) {
      if (this.dispatch !== undefined) wire.waiting.delete(this.dispatch);
      return;
    }
    // Answered, or given up (its connection with it): the slot goes to the oldest waiting.
    wire.dispatched--;
    dispatchWaiting(wire);
  }
}
