import { Buffer } from 'node:buffer';
import { maxHeaderSize } from 'node:http';
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { NodeState } from '../app-env.js';
import { isMsgpackType } from '../codec/encoding.js';
import { acceptedHost } from '../accepted-host.js';
import type { BatchAnswer, BatchAnswerer } from '../routes/batch-answer.js';
import { clientErrorResponder } from '../transport-errors.js';
import { HttpError } from '../../errors/http-error.js';
import { tracing } from '../../observability/telemetry.js';
import type { BatchHead } from './request-head.js';
import type { LaneAnswer, LaneHost } from './lane-connection.js';
import { LaneConnection } from './lane-connection.js';
import { adoptWithSharedReadBuffer } from '../../sockets/shared-buffer-reads.js';

/** The lane's read buffer: as large as the one Node gives each read of an ordinary socket. */
const READ_BUFFER_BYTES = 64 * 1024;

function laneAnswer(answer: BatchAnswer): LaneAnswer {
  const { headers } = answer;
  let fields = '';
  for (let i = 0; i < headers.length; i += 2) fields += `${headers[i]}: ${headers[i + 1]}\r\n`;
  return { status: answer.status, fields, body: answer.body };
}

/**
 * The batch lane: the node's plain-HTTP connections arrive here first, and plain HTTP/1.1
 * `POST /v1/batch` requests are answered straight from the socket's bytes — no IncomingMessage,
 * ServerResponse or stream per request, which cost more than the batch itself (see the server
 * README's "Batch lane"). The first request on a connection that is anything else (another
 * route, a Transfer-Encoding, Expect, a bad token, tracing on…) hands the connection, from that
 * request on, to Node's HTTP server, which serves it as if it had had it from the start. Batches
 * are answered by the same operations, through the same `batchAnswerer`, as the fast path's.
 */
export class BatchLane implements LaneHost {
  readonly maxHeadBytes = maxHeaderSize;
  readonly maxBatchBytes: number;
  readonly headersTimeout: number;
  readonly requestTimeout: number;
  readonly keepAliveTimeout: number;
  closing = false;
  readonly #node: NodeState;
  readonly #answerer: BatchAnswerer;
  readonly #hostAccepted = acceptedHost();
  readonly #connections = new Set<LaneConnection>();
  /**
   * Every connection's reads land here (see adoptWithSharedReadBuffer) instead of in a fresh 64 KiB
   * ArrayBuffer per read, malloc'd and later collected: 0.2–0.4 µs less node CPU per batched
   * operation in the client benchmark (README, "Batch lane").
   */
  readonly #readBuffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
  readonly #clientError: ReturnType<typeof clientErrorResponder>;
  #toHttp: ((socket: Socket) => void) | undefined;

  constructor(node: NodeState, answerer: BatchAnswerer) {
    this.#node = node;
    this.#answerer = answerer;
    const { headersTimeout, requestTimeout, keepAliveTimeout } = node.options;
    this.headersTimeout = headersTimeout;
    this.requestTimeout = requestTimeout;
    this.keepAliveTimeout = keepAliveTimeout;
    this.maxBatchBytes = node.options.maxBatchBytes;
    this.#clientError = clientErrorResponder(node);
  }

  /**
   * Puts the lane in front of `server`'s own connection handling, which it keeps for the
   * connections it hands over. Returns false, and leaves `server` as it was, when that handling is
   * not the single listener Node's HTTP server installs.
   */
  install(server: Server): boolean {
    const listeners = server.listeners('connection');
    if (listeners.length !== 1) return false;
    const own = listeners[0] as (socket: Socket) => void;
    server.removeListener('connection', own);
    this.#toHttp = (socket) => own.call(server, socket);
    // Accepted paused, so that each connection can be re-wrapped to read into the lane's one
    // buffer before it reads anything (the option http.createServer does not pass on).
    (server as Server & { pauseOnConnect: boolean }).pauseOnConnect = true;
    server.on('connection', (accepted: Socket) => {
      const receive = (chunk: Buffer): boolean => connection.receive(chunk);
      const adopted = adoptWithSharedReadBuffer(accepted, this.#readBuffer, receive, {
        keepServerCount: true,
      });
      // Without the re-wrap (Node's internals not as expected) the accepted socket is read as usual.
      const connection = new LaneConnection(adopted ?? accepted, this, adopted !== undefined);
      if (adopted === undefined) accepted.resume();
      this.#connections.add(connection);
    });
    return true;
  }

  /** Requests under way on the lane (being received, or answered and not yet taken). */
  get active(): number {
    let active = 0;
    for (const connection of this.#connections) if (!connection.idle) active++;
    return active;
  }

  /** Closes the connections with nothing under way (Node's closeIdleConnections, for the lane). */
  closeIdle(): void {
    for (const connection of this.#connections) if (connection.idle) connection.destroy();
  }

  closeAll(): void {
    for (const connection of this.#connections) connection.destroy();
  }

  takes(head: BatchHead): boolean {
    return (
      head.contentLength <= this.maxBatchBytes &&
      isMsgpackType(head.contentType) &&
      this.#hostAccepted(head.host) &&
      this.#node.hosts.serves(head.host) &&
      this.#node.authorized(head.authorization) &&
      !this.tracing()
    );
  }

  tracing(): boolean {
    // A span per request is @hono/node-server's and the fast path's business (traceRequest).
    return tracing?.tracer() !== undefined;
  }

  admit(head: BatchHead): LaneAnswer | undefined {
    const budget = this.#node.bodyBudget;
    if (!budget.spent) return undefined;
    try {
      budget.admit();
    } catch (error) {
      return laneAnswer(this.#answerer.refusal(error, head.requestId));
    }
    return undefined;
  }

  begin(head: BatchHead): number {
    const node = this.#node;
    node.metrics.start();
    // Counted as requests.batch is from here: answered, refused mid-body or left by its sender.
    node.metrics.recordLaneBatch();
    node.replicas.noteRingNodes(head.ringNodes);
    return performance.now();
  }

  answer(head: BatchHead, body: Uint8Array, start: number): LaneAnswer {
    return laneAnswer(this.#answerer.run(body, head.requestId, start));
  }

  refuse(head: BatchHead, error: unknown, start: number): LaneAnswer {
    this.#node.metrics.record('batch', performance.now() - start);
    return laneAnswer(this.#answerer.refusal(error, head.requestId));
  }

  abandon(head: BatchHead, start: number): void {
    this.#node.metrics.record('batch', performance.now() - start);
    this.#answerer.refusal(
      new HttpError(400, 'bad_request', 'the request body could not be read'),
      head.requestId,
    );
  }

  failed(error: unknown): void {
    this.#answerer.refusal(error, undefined);
  }

  hold(bytes: number, cut: () => void): () => void {
    return this.#node.bodyBudget.hold(bytes, cut);
  }

  reserve(bytes: number): void {
    this.#node.bodyBudget.reserve(bytes);
  }

  release(bytes: number): void {
    this.#node.bodyBudget.release(bytes);
  }

  timedOut(socket: Socket, counted: boolean): void {
    socket.on('error', () => socket.destroy());
    // The error Node's server reports for the same request, answered by the same responder.
    const error: Error & { code?: string } = new Error('Request timeout');
    error.code = 'ERR_HTTP_REQUEST_TIMEOUT';
    this.#clientError(error, socket, counted);
    // The answer is small; a client that does not take it is not waited for.
    setTimeout(() => socket.destroy(), this.requestTimeout).unref();
  }

  handOff(socket: Socket, unread: Buffer): void {
    this.#node.metrics.recordLaneHandOff();
    // Read back first by Node's server, which takes the socket's reading from here.
    socket.unshift(unread);
    this.#toHttp!(socket);
  }

  forget(connection: LaneConnection): void {
    this.#connections.delete(connection);
  }
}
