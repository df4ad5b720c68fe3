import { Buffer } from 'node:buffer';
import type { Socket } from 'node:net';
import type { BatchHead, KnownHead } from './request-head.js';
import { INCOMPLETE, knownHead, OTHER, readBatchHead, readKnownHead } from './request-head.js';
import { CLOSE, keepAlive, responseHead } from './response-head.js';
import { SMALL_CHUNK_BYTES, SMALL_CHUNKS_BLOCK_BYTES } from '../body.js';
import { withHead } from '../codec/msgpack-writer.js';
import type { FinishedResponse } from '../codec/msgpack-writer.js';

/**
 * Once an answer that closes its connection is out, what the client still sends is read and dropped
 * while bytes keep coming this often…
 */
export const LINGER_IDLE_MS = 2_000;
/** …for this long at most (Apache's two limits; LINGER_IDLE_MS while the node shuts down)… */
export const LINGER_MAX_MS = 30_000;
/** …and up to the rest of a refused body and this much more: a refused client cannot keep a node reading. */
export const LINGER_SLACK_BYTES = 64 * 1024;
/**
 * Ms past the advertised `Keep-Alive: timeout=` an idle connection is kept, as Node's server keeps
 * it (its HTTP_SERVER_KEEP_ALIVE_TIMEOUT_BUFFER): a client reusing it right up to that time then
 * meets an answer, not a reset.
 */
export const KEEP_ALIVE_GRACE_MS = 1_000;

/** An answer to one batch: its status, its own header lines (each ending in CRLF), its body. */
export interface LaneAnswer {
  readonly status: number;
  readonly fields: string;
  readonly body: FinishedResponse | string;
}

/** What one connection asks of the lane that owns it. */
export interface LaneHost {
  /** A head longer than this goes to Node's server. */
  readonly maxHeadBytes: number;
  /** A body longer than this goes to Node's server (which answers 413). */
  readonly maxBatchBytes: number;
  /** Ms a request may take to send its head, and its whole self (Node's own two timeouts). */
  readonly headersTimeout: number;
  readonly requestTimeout: number;
  /** Ms an idle connection is kept. */
  readonly keepAliveTimeout: number;
  /** Set once the node is closing: every answer then closes its connection. */
  readonly closing: boolean;
  /** Whether the lane answers this request; if not, Node's server gets it, bytes untouched. */
  takes(head: BatchHead): boolean;
  /** Whether a tracing SDK is registered (its spans are made by Node's server's path). */
  tracing(): boolean;
  /** The 503 a request gets while unread answers fill the node's budget; undefined while they do not. */
  admit(head: BatchHead): LaneAnswer | undefined;
  /** A request's head has arrived: counted as under way from now; returns its start time. */
  begin(head: BatchHead): number;
  /** Runs the batch begun at `start` (its body whole) and answers it. */
  answer(head: BatchHead, body: Uint8Array, start: number): LaneAnswer;
  /** The answer to a request refused before its body was whole (the node's budget is spent). */
  refuse(head: BatchHead, error: unknown, start: number): LaneAnswer;
  /** A request whose sender left before its body was whole: counted as the body reader counts it. */
  abandon(head: BatchHead, start: number): void;
  /** Holds unsent answer bytes in the node's budget until the release is called. */
  hold(bytes: number, cut: () => void): () => void;
  /** Reserves request-body bytes in the node's budget (throws its 503), and gives them back. */
  reserve(bytes: number): void;
  release(bytes: number): void;
  /** Logs an error the lane did not expect (as a 500 of the error handler). */
  failed(error: unknown): void;
  /**
   * Answers 408 on a connection whose request did not arrive in time, and closes it; `counted`:
   * the request is counted already (a body cut short, see `abandon`), so the 408 is not.
   */
  timedOut(socket: Socket, counted: boolean): void;
  /** Gives the connection and the bytes read but not answered to Node's HTTP server. */
  handOff(socket: Socket, unread: Buffer): void;
  /** The connection has closed, or been handed off. */
  forget(connection: LaneConnection): void;
}

/**
 * One connection on the batch lane: reads requests from the socket's bytes and answers the plain
 * `POST /v1/batch` ones itself, in order; the first request that is anything else hands the
 * connection, from that request on, to Node's HTTP server for good — once every answer before it
 * has gone out. A request under way holds only what it has sent (its body reserved in the node's
 * budget) and has Node's deadlines. Answers the socket has not passed on are held in the node's
 * budget, and the connection is not read meanwhile.
 */
export class LaneConnection {
  readonly #socket: Socket;
  readonly #host: LaneHost;
  /** The Connection header lines of an answer that keeps the connection. */
  readonly #keepAliveLines: string;
  /** Bytes read and not yet answered, starting at a request's first byte. */
  #unread: Buffer | null = null;
  /** The last head taken, which the next one most likely repeats. */
  #known: KnownHead | undefined;
  /** The request whose body is still arriving, when it began, its chunks and their size. */
  #head: BatchHead | undefined;
  #headStart = 0;
  #chunks: Buffer[] = [];
  #received = 0;
  /**
   * The block small parts of the body are gathered in, and how much of it they fill: a body
   * trickled a byte per read kept a Buffer per byte, ~80 bytes each the budget did not count
   * (20 connections took a node from 79 to 272 MiB in 10 s).
   */
  #block: Buffer | undefined;
  #filled = 0;
  /** When the request under way began (its first byte; the connection, for the first), and its deadline. */
  #requestStart = performance.now();
  #deadline: NodeJS.Timeout | undefined;
  #deadlineFor: 'head' | 'body' | undefined;
  /** Set while answers wait for the socket to pass them on; calling it lets their bytes go. */
  #releaseHeld: (() => void) | undefined;
  #ended = false;
  /** Node's keep-alive timeout counts from the first answer on; before it, the head's deadline. */
  #keepAlive = false;
  /** Closed, closing, or handed off: nothing more is read or answered here. */
  #done = false;
  /** Bytes a closing connection still reads (and drops) before it is cut, once its answer is out. */
  #lingerBytes = 0;
  #lingering = false;
  /** While a borrowed read is taken: its memory, which is reused once `receive` returns. */
  #borrowed: ArrayBufferLike | undefined;
  /** Given to Node's server (or to its 408 answer): no longer the lane's to read. */
  #detached = false;

  /**
   * `borrowedReads`: the socket's reads are handed to {@link receive} in a buffer reused after
   * each (a shared read buffer), instead of arriving as 'data' events; whatever is kept past the
   * call is copied.
   */
  constructor(socket: Socket, host: LaneHost, borrowedReads = false) {
    this.#socket = socket;
    this.#host = host;
    this.#keepAliveLines = keepAlive(host.keepAliveTimeout);
    if (!borrowedReads) socket.on('data', this.#onData);
    socket.on('end', this.#onEnd);
    socket.on('timeout', this.#onIdle);
    socket.on('error', this.#onError);
    socket.on('close', this.#onClose);
    // A connection that never sends a request is dropped at the headers timeout, as Node drops it.
    this.#startDeadline('head');
  }

  /** Nothing under way: no request being received, no answer waiting to be taken. */
  get idle(): boolean {
    if (this.#releaseHeld !== undefined) return false;
    return this.#done || (this.#unread === null && this.#head === undefined);
  }

  destroy(): void {
    this.#socket.destroy();
  }

  /**
   * Takes a read whose memory is reused once this returns (see the constructor). False when the
   * socket should stop reading until its Readable side is read from.
   */
  receive(chunk: Buffer): boolean {
    // The socket is Node's now: what still comes this way (its parser no longer reads the socket
    // itself, e.g. after an upgrade) reaches Node's listeners as an ordinary socket's reads do.
    if (this.#detached) return this.#socket.push(Buffer.from(chunk));
    this.#borrowed = chunk.buffer;
    try {
      this.#onData(chunk);
      // Bytes of a request not yet whole wait for the next read, in memory of their own.
      if (this.#unread !== null) this.#unread = this.#owned(this.#unread);
    } finally {
      this.#borrowed = undefined;
    }
    return true;
  }

  /** `bytes`, or a copy of them when they are in a borrowed read's memory. */
  #owned(bytes: Buffer): Buffer {
    return bytes.buffer === this.#borrowed ? Buffer.from(bytes) : bytes;
  }

  readonly #onData = (chunk: Buffer): void => {
    if (this.#done) {
      // Until the closing answer is out, what arrives is dropped uncounted, as Node's server drops
      // what follows a `Connection: close` request while answering it: cut now, a client that
      // writes before it reads would lose the answer (the send timeout bounds that wait).
      if (!this.#lingering) return;
      this.#lingerBytes -= chunk.length;
      if (this.#lingerBytes < 0) this.#socket.destroy();
      return;
    }
    try {
      this.#take(chunk);
    } catch (error) {
      this.#failed(error);
    }
  };

  #take(chunk: Buffer): void {
    if (this.#head !== undefined) {
      const rest = this.#receiveBody(chunk);
      // An answer that closed the connection leaves nothing more to read.
      if (rest === null || this.#done) return;
      this.#unread = rest;
    } else if (this.#unread === null) {
      if (this.#deadline === undefined) this.#requestStart = performance.now();
      this.#unread = chunk;
    } else {
      this.#unread = Buffer.concat([this.#unread, chunk]);
    }
    this.#serve();
  }

  /**
   * An error thrown while serving is a bug of ours: thrown from a socket event it would end the
   * process, so it is logged, and only this connection pays.
   */
  #failed(error: unknown): void {
    this.#host.failed(error);
    this.#socket.destroy();
  }

  /**
   * Adds bytes to the body under way. Once it is whole, answers it and returns the bytes after it
   * (possibly none); null while more are wanted, or when the request was refused.
   */
  #receiveBody(chunk: Buffer): Buffer | null {
    const head = this.#head!;
    const wanted = head.contentLength - this.#received;
    const part = chunk.length > wanted ? chunk.subarray(0, wanted) : chunk;
    try {
      this.#host.reserve(part.length);
    } catch (error) {
      // Past the node's budget mid-body: refused, and the rest of the body is not wanted.
      this.#releaseBody();
      this.#write(this.#host.refuse(head, error, this.#headStart), true, wanted - part.length);
      return null;
    }
    this.#received += part.length;
    if (this.#received < head.contentLength) {
      this.#keep(part);
      return null;
    }
    this.#chunks.push(part);
    const body = this.#chunks.length === 1 ? part : Buffer.concat(this.#chunks, this.#received);
    const reserved = this.#received;
    this.#head = undefined;
    this.#chunks = [];
    this.#block = undefined;
    this.#received = 0;
    this.#clearDeadline();
    try {
      this.#respond(head, body, this.#headStart);
    } finally {
      this.#host.release(reserved);
    }
    return chunk.subarray(part.length);
  }

  /** Keeps a part of a body still arriving: a small one copied into a block (see `#block`). */
  #keep(part: Buffer): void {
    if (part.length >= SMALL_CHUNK_BYTES) {
      this.#chunks.push(this.#owned(part));
      this.#block = undefined;
      return;
    }
    let block = this.#block;
    if (block === undefined || this.#filled + part.length > block.length) {
      block = this.#block = Buffer.allocUnsafeSlow(SMALL_CHUNKS_BLOCK_BYTES);
      this.#filled = 0;
      this.#chunks.push(block.subarray(0, 0));
    }
    part.copy(block, this.#filled);
    this.#filled += part.length;
    this.#chunks[this.#chunks.length - 1] = block.subarray(0, this.#filled);
  }

  /** Answers the whole requests in `#unread`, in order, until one is partial or not the lane's. */
  #serve(): void {
    const socket = this.#socket;
    // Answers after the first of one read are corked into one write; the first (most reads hold
    // one request) is written at once, without the cork's buffering.
    let answers = 0;
    let corked = false;
    while (!this.#done && this.#unread !== null && this.#unread.length > 0) {
      if (answers > 0 && !corked) {
        socket.cork();
        corked = true;
      }
      const unread = this.#unread;
      const head = this.#headOf(unread);
      if (head === INCOMPLETE) {
        this.#startDeadline('head');
        break;
      }
      if (head === OTHER) {
        // Node's server takes over once every answer before it has gone out.
        if (corked) socket.uncork();
        if (this.#holdUnsent()) return;
        this.#host.handOff(this.#detach(), this.#owned(unread));
        return;
      }
      const end = head.size + head.contentLength;
      const refused = this.#host.admit(head);
      if (refused !== undefined) {
        // Refused before its body is read: a body that is all here is passed over, one still
        // arriving is not wanted.
        this.#unread = unread.length > end ? unread.subarray(end) : null;
        const close = unread.length < end || head.close || this.#host.closing;
        // Answered as a batch is: its head's deadline (armed since its first byte, or since the
        // connection opened) must not later cut the idle connection with a 408.
        this.#clearDeadline();
        this.#answered(refused, close, Math.max(0, end - unread.length));
        answers++;
        continue;
      }
      if (unread.length < end) {
        this.#unread = null;
        this.#head = head;
        this.#headStart = this.#host.begin(head);
        this.#startDeadline('body');
        const partial = unread.subarray(head.size);
        if (partial.length > 0) this.#receiveBody(partial);
        break;
      }
      this.#unread = unread.length > end ? unread.subarray(end) : null;
      this.#clearDeadline();
      this.#respond(head, unread.subarray(head.size, end), this.#host.begin(head));
      answers++;
      // A client sending faster than it reads stops being read once a buffer of answers waits.
      if (socket.writableLength >= socket.writableHighWaterMark) {
        if (corked) socket.uncork();
        corked = false;
        if (this.#holdUnsent()) return;
      }
    }
    if (this.#unread?.length === 0) this.#unread = null;
    if (corked) socket.uncork();
    if (this.#holdUnsent()) return;
    if (this.#ended && !this.#done) this.#finish();
  }

  /** The head at the start of `unread` if the lane takes its request; OTHER if Node's server should. */
  #headOf(unread: Buffer): BatchHead | typeof INCOMPLETE | typeof OTHER {
    const known = this.#known === undefined ? undefined : readKnownHead(unread, this.#known);
    if (known !== undefined) {
      // Byte for byte the head taken before: only its length and the node's tracing can differ.
      return known.contentLength <= this.#host.maxBatchBytes && !this.#host.tracing()
        ? known
        : OTHER;
    }
    const head = readBatchHead(unread, this.#host.maxHeadBytes);
    if (head === INCOMPLETE || head === OTHER) return head;
    if (!this.#host.takes(head)) return OTHER;
    // Node's parser stops at bytes after a `Connection: close` request: its server answers this one
    // (transport-errors.ts) and runs nothing after it.
    if (head.close && unread.length > head.size + head.contentLength) return OTHER;
    this.#known = knownHead(unread, head);
    return head;
  }

  #respond(head: BatchHead, body: Buffer, start: number): void {
    // A plain Uint8Array, as every other door passes: the batch's reads and the values it stores
    // (copied from it, of its class) then stay of one shape.
    const plain = new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
    this.#answered(this.#host.answer(head, plain, start), head.close || this.#host.closing);
  }

  /** Writes the answer to a whole request (see #write); the connection is then between requests. */
  #answered(answer: LaneAnswer, close: boolean, bodyLeft = 0): void {
    // The next request's deadlines count from now (its first bytes may already be here).
    this.#requestStart = performance.now();
    this.#write(answer, close, bodyLeft);
    if (!this.#keepAlive && !this.#done) {
      this.#keepAlive = true;
      this.#socket.setTimeout(this.#host.keepAliveTimeout + KEEP_ALIVE_GRACE_MS);
    }
  }

  /** Writes an answer; one that closes the connection lingers for `bodyLeft` more bytes of its body. */
  #write(answer: LaneAnswer, close: boolean, bodyLeft = 0): void {
    const socket = this.#socket;
    const { body } = answer;
    const connection = close ? CLOSE : this.#keepAliveLines;
    const isText = typeof body === 'string';
    const length = isText ? Buffer.byteLength(body) : body.length;
    const head = responseHead(answer.status, answer.fields, length, connection);
    // Results: the head goes in the room the writer left before them, and both in one write.
    const whole = isText ? undefined : withHead(body, head);
    if (whole !== undefined) socket.write(whole, this.#onWritten);
    else {
      // A refusal's JSON (or a head longer than the room): head and body corked into one write,
      // also when no answer before it in this read corked the socket.
      socket.cork();
      socket.write(head, 'latin1');
      socket.write(body, this.#onWritten);
      socket.uncork();
    }
    if (close) {
      // What follows on this connection is not answered: its sender is told, our side ends once
      // the answer is out, and until then its bytes are held like any other answer's.
      this.#done = true;
      this.#unread = null;
      this.#clearDeadline();
      this.#lingerBytes = bodyLeft + LINGER_SLACK_BYTES;
      socket.uncork();
      // Until the answer is out, the hold's send timeout is the only cut; then the linger's.
      socket.end(this.#linger);
      this.#hold();
    }
  }

  /**
   * A lingering close, as Apache's and nginx's, from when the closing answer is out: what the
   * client still sends (the rest of a refused body) is read and dropped until it closes, sends
   * nothing for LINGER_IDLE_MS, passes `#lingerBytes`, or LINGER_MAX_MS have passed. Closing at
   * once would answer its next bytes with a reset, and a client whose writes fail that way may
   * never read the answer already sent to it.
   */
  readonly #linger = (): void => {
    const socket = this.#socket;
    if (socket.destroyed) return;
    this.#lingering = true;
    // A connection paused while its answers were held stays paused otherwise (#onWritten resumes
    // only connections still answering).
    socket.resume();
    socket.setTimeout(LINGER_IDLE_MS);
    const cut = setTimeout(
      () => socket.destroy(),
      this.#host.closing ? LINGER_IDLE_MS : LINGER_MAX_MS,
    );
    cut.unref();
    socket.once('close', () => clearTimeout(cut));
  };

  /** Whether answers the socket has not passed on now pause the connection, until they go. */
  #holdUnsent(): boolean {
    if (this.#done || this.#socket.writableLength === 0) return false;
    this.#socket.pause();
    this.#hold();
    return true;
  }

  /** Holds what the socket has not passed on in the node's budget, cut at the send timeout. */
  #hold(): void {
    const socket = this.#socket;
    if (this.#releaseHeld !== undefined || socket.writableLength === 0) return;
    this.#releaseHeld = this.#host.hold(socket.writableLength, () => socket.destroy());
  }

  /** After each answer's write: once all have gone out, a held connection is read again. */
  readonly #onWritten = (): void => {
    const socket = this.#socket;
    if (this.#releaseHeld === undefined || socket.writableLength > 0 || socket.destroyed) return;
    this.#releaseHeld();
    this.#releaseHeld = undefined;
    if (this.#done) return;
    socket.resume();
    if (this.#unread === null) {
      // Idle now: done once its client has ended, or once the node is stopping (its idle
      // connections were closed when it began; this one still had answers going out).
      if (this.#ended || (this.#host.closing && this.#head === undefined)) this.#finish();
      return;
    }
    try {
      this.#serve();
    } catch (error) {
      this.#failed(error);
    }
  };

  /** Node's deadlines, from the request's first byte: its head within one, all of it within the other. */
  #startDeadline(part: 'head' | 'body'): void {
    if (this.#deadlineFor === part) return;
    this.#clearDeadline();
    const limit = part === 'head' ? this.#host.headersTimeout : this.#host.requestTimeout;
    const left = Math.max(0, limit - (performance.now() - this.#requestStart));
    this.#deadlineFor = part;
    this.#deadline = setTimeout(() => {
      this.#deadline = undefined;
      this.#deadlineFor = undefined;
      // A head or body not whole in time is answered 408, as Node answers it — unless answers
      // before it still wait for a client that is not reading (nor sending, then: it is not read).
      // A body cut short counts as Node's body reader counts it, as its sender leaving (a 400).
      if (this.#socket.writableLength === 0) {
        const head = this.#head;
        if (head !== undefined) {
          this.#host.abandon(head, this.#headStart);
          this.#releaseBody();
        }
        this.#host.timedOut(this.#detach(), head !== undefined);
      } else {
        this.#socket.destroy();
      }
    }, left);
    this.#deadline.unref();
  }

  #clearDeadline(): void {
    if (this.#deadline === undefined) return;
    clearTimeout(this.#deadline);
    this.#deadline = undefined;
    this.#deadlineFor = undefined;
  }

  readonly #onIdle = (): void => {
    // Node's keep-alive timeout, or a lingering close's: a connection with no body under way is
    // closed, also one whose next head has stalled (Node's server keeps the keep-alive timeout
    // until a head is whole, and closes it silently); a body under way has its own deadline, and a
    // held answer the send timeout.
    if (this.#releaseHeld === undefined && (this.#done || this.#head === undefined)) {
      this.#socket.destroy();
    }
  };

  readonly #onEnd = (): void => {
    this.#ended = true;
    if (!this.#done && this.#releaseHeld === undefined) this.#finish();
  };

  /** The client has sent its last byte and every whole request is answered: close our side. */
  #finish(): void {
    this.#done = true;
    if (this.#head !== undefined || this.#unread !== null) this.#socket.destroy();
    else this.#socket.end();
  }

  readonly #onError = (): void => {
    this.#socket.destroy();
  };

  readonly #onClose = (): void => {
    this.#done = true;
    if (this.#head !== undefined) this.#host.abandon(this.#head, this.#headStart);
    this.#releaseBody();
    this.#releaseHeld?.();
    this.#releaseHeld = undefined;
    this.#clearDeadline();
    this.#host.forget(this);
  };

  /** Gives back the bytes of a body that will not be answered. */
  #releaseBody(): void {
    if (this.#received > 0) this.#host.release(this.#received);
    this.#head = undefined;
    this.#chunks = [];
    this.#block = undefined;
    this.#received = 0;
  }

  /**
   * Takes the lane off the socket, which is Node's to serve (or to close) from now on: only ever
   * at a request's first byte, with every answer gone out (nothing held).
   */
  #detach(): Socket {
    const socket = this.#socket;
    this.#detached = true;
    this.#done = true;
    this.#unread = null;
    this.#clearDeadline();
    this.#releaseHeld?.();
    this.#releaseHeld = undefined;
    socket.setTimeout(0);
    socket.off('data', this.#onData);
    socket.off('end', this.#onEnd);
    socket.off('timeout', this.#onIdle);
    socket.off('error', this.#onError);
    socket.off('close', this.#onClose);
    this.#host.forget(this);
    return socket;
  }
}
