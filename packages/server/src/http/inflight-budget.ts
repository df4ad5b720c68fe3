import type { ServerResponse } from 'node:http';
import { HttpError } from '../errors/http-error.js';
import { whenConnectionCloses } from '../sockets/connection-close.js';

/** Seconds a refused client is asked to wait: bodies in flight usually finish well within it. */
export const RETRY_AFTER_SECONDS = 1;

/**
 * The node's budgets of body bytes it holds for clients, each `maxInflightBodyBytes`: request bodies
 * being received, and responses written but not yet taken by the client's socket. Request bodies
 * are reserved as they arrive (body.ts, the one body reader of the hono routes and the batch fast
 * path) and refused with 503 `overloaded` past the limit. Response bytes are held whatever their
 * size — the work is done — but while their budget is spent, no new request is admitted (503 too),
 * so clients that stop reading cannot make the node hold more than the limit plus one response.
 * Two budgets, so stalled uploads never stop reads, nor unread answers uploads. Refusing rather
 * than waiting: a waiting request would itself hold a connection and its bytes, so stalled
 * clients would queue the good ones behind them.
 */
export class InflightBudget {
  readonly limit: number;
  /**
   * Unread answers one connection may hold before its next request is refused: a share of the
   * limit, so that one client that stops reading (pipelined GETs of a large value, say) cannot
   * spend the whole budget and have every other client refused until its connection is cut.
   */
  readonly connectionLimit: number;
  readonly #sendTimeout: number;
  #bodies = 0;
  #answers = 0;
  /** Unread answer bytes per connection (its socket). */
  readonly #byConnection = new WeakMap<object, number>();
  /** Responses held until they close (holdUntilClosed): not to be counted twice. */
  readonly #holding = new WeakSet<ServerResponse>();

  /** `sendTimeout`: ms a held response may wait for its client before its connection is cut. */
  constructor(limit: number, sendTimeout: number) {
    this.limit = limit;
    this.connectionLimit = Math.max(1, Math.floor(limit / CONNECTION_SHARES));
    this.#sendTimeout = sendTimeout;
  }

  /** Request-body bytes held now. */
  get bodies(): number {
    return this.#bodies;
  }

  /** Response bytes held now (written, not yet taken by their sockets). */
  get answers(): number {
    return this.#answers;
  }

  /** Whether unread answers have spent their budget: new requests are refused until some go. */
  get spent(): boolean {
    return this.#answers >= this.limit;
  }

  /** Whether {@link admit} would refuse a request on `connection` (the fast paths ask first). */
  refuses(connection?: object): boolean {
    if (this.#answers === 0) return false;
    return this.spent || this.#heldBy(connection) >= this.connectionLimit;
  }

  /**
   * Throws the 503 when the answers' budget is spent, or when `connection` (the request's socket)
   * holds its share of it: called before a request does any work.
   */
  admit(connection?: object, monitoring = false): void {
    // Monitoring (`/healthz`, `/v1/stats`, `/metrics`) stays answered while the budget is spent,
    // but not to a connection that is not reading what it was answered: `/metrics` pipelined on
    // 100 such connections took a node to 800 MiB past a spent budget.
    if (this.spent && !(monitoring && this.#heldBy(connection) === 0)) {
      throw overloaded(
        `the node holds ${this.#answers} bytes of responses its clients have not read, the limit of maxInflightBodyBytes (${this.limit})`,
      );
    }
    const held = this.#heldBy(connection);
    if (held >= this.connectionLimit) {
      throw overloaded(
        `this connection holds ${held} bytes of responses it has not read, its share of maxInflightBodyBytes (${this.connectionLimit})`,
      );
    }
  }

  #heldBy(connection: object | undefined): number {
    return connection === undefined ? 0 : (this.#byConnection.get(connection) ?? 0);
  }

  /** Takes `bytes` of a request body from its budget, or throws the 503 when they do not fit. */
  reserve(bytes: number): void {
    if (this.#bodies + bytes > this.limit) {
      throw overloaded(
        `the node is receiving ${this.#bodies} bytes of request bodies; ${bytes} more would pass maxInflightBodyBytes (${this.limit})`,
      );
    }
    this.#bodies += bytes;
  }

  /** Returns request-body bytes taken by `reserve`. */
  release(bytes: number): void {
    this.#bodies -= bytes;
  }

  /**
   * Holds `bytes` of a response until `res` closes (its last byte handed to the socket, or the
   * connection gone). A client that has not taken it all within the send timeout has its
   * connection cut: Node's socket timeout never fires while a write is pending, so without this a
   * client that stops reading would keep the bytes for ever. No `res` (a fetch runtime,
   * `app.request()`): nothing is held.
   */
  holdUntilClosed(res: ServerResponse | undefined, bytes: number): void {
    if (res === undefined || bytes === 0 || res.closed) return;
    this.#holding.add(res);
    // A response queued behind an earlier one on its connection (pipelining) has no socket yet,
    // and is never closed if the connection goes first: the connection's end lets it go too.
    const connection = res.socket ?? res.req.socket;
    const release = this.hold(
      bytes,
      () => {
        res.destroy();
        connection?.destroy();
      },
      connection ?? undefined,
    );
    const done = (): void => {
      release();
      res.off('close', done);
      stopWaiting?.();
    };
    res.once('close', done);
    const stopWaiting = connection === null ? undefined : whenConnectionCloses(connection, done);
  }

  /**
   * Holds `bytes` of answers until the returned release is called (again: nothing); `cut` ends the
   * connection that has not taken them within the send timeout.
   */
  hold(bytes: number, cut: () => void, connection?: object): () => void {
    this.#answers += bytes;
    const byConnection = this.#byConnection;
    if (connection !== undefined) {
      byConnection.set(connection, (byConnection.get(connection) ?? 0) + bytes);
    }
    const timer = setTimeout(cut, this.#sendTimeout);
    timer.unref();
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      clearTimeout(timer);
      this.#answers -= bytes;
      if (connection === undefined) return;
      const left = byConnection.get(connection)! - bytes;
      if (left > 0) byConnection.set(connection, left);
      else byConnection.delete(connection);
    };
  }

  /**
   * After `res.end()`: holds what the socket did not take at once (a client not reading, or a
   * pipelined response queued behind another). Nothing is allocated when all of it went out.
   */
  holdUnflushed(res: ServerResponse): void {
    // A route that held its body before writing it (holdUntilClosed) is counted already.
    if (this.#holding.has(res)) return;
    const waiting = res.writableLength;
    if (waiting > 0) this.holdUntilClosed(res, waiting);
  }
}

/** The answers' budget is shared out this many ways per connection (see connectionLimit). */
const CONNECTION_SHARES = 16;

function overloaded(why: string): HttpError {
  return new HttpError(503, 'overloaded', `${why}: retry shortly`, {
    headers: { 'retry-after': `${RETRY_AFTER_SECONDS}` },
  });
}
