import type { Agent, Dispatcher } from 'undici';

/** A node's answer to one request, read whole: status, body bytes and its `Dcache-Clock`. */
export interface RawAnswer {
  status: number;
  body: Uint8Array;
  clock: number | undefined;
}

export interface RawRequest {
  origin: string;
  path: string;
  method: Dispatcher.HttpMethod;
  headers: Record<string, string>;
  body: Uint8Array | null;
  /** Milliseconds the whole exchange may take, connecting included. */
  timeout: number;
  /** The error the caller gets when `timeout` passes first. */
  timedOut: () => Error;
}

/**
 * One exchange straight on undici's dispatcher — no WHATWG Request or Response, no ky — for the
 * batched data path, where a request per batch is paid per operation (see transport.ts). Resolves
 * to the answer whatever its status; rejects on a connection error or at `timeout`, when the
 * unanswered request is aborted (which gives its connection up).
 */
export function exchange(agent: Agent, request: RawRequest): Promise<RawAnswer> {
  return new Promise<RawAnswer>((resolve, reject) => {
    const handler = new AnswerHandler(resolve, reject, request.timeout, request.timedOut);
    agent.dispatch(
      {
        origin: request.origin,
        path: request.path,
        method: request.method,
        headers: request.headers,
        body: request.body,
      },
      handler,
    );
  });
}

/** Gathers one answer whole — status, clock and body bytes — or fails it (error or timeout). */
class AnswerHandler implements Dispatcher.DispatchHandler {
  readonly #resolve: (answer: RawAnswer) => void;
  readonly #reject: (error: Error) => void;
  readonly #timer: NodeJS.Timeout;
  #status = 0;
  #clock: number | undefined;
  #chunks: Buffer[] = [];
  #controller: Dispatcher.DispatchController | undefined;
  #settled = false;

  constructor(
    resolve: (answer: RawAnswer) => void,
    reject: (error: Error) => void,
    timeoutMs: number,
    timedOut: () => Error,
  ) {
    this.#resolve = resolve;
    this.#reject = reject;
    this.#timer = setTimeout(() => this.#fail(timedOut()), timeoutMs);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    // Timed out while still queued for a connection: never send it.
    if (this.#settled) controller.abort(new Error('request abandoned'));
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
    this.#resolve({ status: this.#status, body, clock: this.#clock });
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
  }
}
