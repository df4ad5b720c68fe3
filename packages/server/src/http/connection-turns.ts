/**
 * Serves a request now, or `undefined` once done; else a promise that settles once it is done
 * (its effect on the cache made and its answer written).
 */
export type Serve = () => PromiseLike<unknown> | undefined;

/** What a request arrived on: closed when serving one of its requests fails. */
export interface Connection {
  destroy(): void;
}

/**
 * Requests one connection may have waiting behind one still being served; past it the connection
 * is cut. A request can only wait behind one whose body has arrived whole (HTTP/1.1 frames the
 * next request after it), and that one finishes within a few turns of the event loop, so only a
 * client pipelining thousands of requests at once meets it.
 */
export const MAX_WAITING_REQUESTS = 1024;

/**
 * Keeps the requests of one connection in order. Node's HTTP server emits every pipelined request
 * as soon as it has parsed it, so a request whose handler waits for its body (a PUT) would take
 * effect after a GET or DELETE pipelined behind it, which reads or deletes before the write (RFC
 * 9112 lets a server run pipelined requests in parallel only when all of them are safe). Here a
 * request starts once the one before it on its connection is done. Requests answered at once (a
 * GET hit from the fast path) never wait for one another, so a burst of pipelined GETs is served
 * in the turn it arrives in.
 */
export class ConnectionTurns {
  /** Per connection with a request being served: what waits behind it (maybe nothing). */
  readonly #waiting = new WeakMap<object, Serve[]>();
  readonly #failed: (error: unknown) => void;

  /**
   * `failed`: told of an error a request's serving threw (a bug): that connection is closed, its
   * waiting requests dropped, and the process goes on.
   */
  constructor(failed: (error: unknown) => void) {
    this.#failed = failed;
  }

  /** Serves `serve` now or, when a request on `connection` is still being served, after it. */
  take(connection: Connection, serve: Serve): void {
    const waiting = this.#waiting.get(connection);
    if (waiting === undefined) {
      this.#serveFrom(connection, serve);
    } else if (waiting.length < MAX_WAITING_REQUESTS) {
      waiting.push(serve);
    } else {
      connection.destroy();
    }
  }

  /** Serves `first`, then what waits, until one is asynchronous (it continues when that is done). */
  #serveFrom(connection: Connection, first: Serve): void {
    let serve: Serve | undefined = first;
    while (serve !== undefined) {
      let pending: PromiseLike<unknown> | undefined;
      try {
        pending = serve();
      } catch (error) {
        this.#waiting.delete(connection);
        connection.destroy();
        this.#failed(error);
        return;
      }
      if (pending !== undefined) {
        if (!this.#waiting.has(connection)) this.#waiting.set(connection, []);
        const next = (): void => this.#next(connection);
        pending.then(next, next);
        return;
      }
      serve = this.#shift(connection);
    }
  }

  #next(connection: Connection): void {
    const serve = this.#shift(connection);
    if (serve !== undefined) this.#serveFrom(connection, serve);
  }

  /** The next request waiting on `connection`; when none, the connection is free again. */
  #shift(connection: object): Serve | undefined {
    const waiting = this.#waiting.get(connection);
    const serve = waiting?.shift();
    if (waiting !== undefined && serve === undefined) this.#waiting.delete(connection);
    return serve;
  }
}
