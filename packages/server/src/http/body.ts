import type { IncomingMessage } from 'node:http';
import type { Context } from 'hono';
import type { AppEnv, NodeState } from './app-env.js';
import { header } from './app-env.js';
import { HttpError } from '../errors/http-error.js';
import type { InflightBudget } from './inflight-budget.js';

/**
 * A declared Content-Length up to this is reserved in the node's body budget at once; a longer
 * body is reserved as its bytes arrive, so a client that declares 16 MiB and sends a byte holds a
 * byte, not 16 MiB — many such connections cannot exhaust the budget.
 */
const WHOLE_RESERVATION_BYTES = 64 * 1024;

/**
 * After a body's first chunk, chunks shorter than this are copied into blocks of
 * SMALL_CHUNKS_BLOCK_BYTES instead of kept: Node hands each piece of a chunked body over as a
 * Buffer of its own, a few hundred bytes of overhead the budget does not see, so a 1 MB value sent
 * in 1-byte chunks took a node from 107 to 490 MiB.
 */
export const SMALL_CHUNK_BYTES = 4096;
export const SMALL_CHUNKS_BLOCK_BYTES = 16 * 1024;

/** What bounds one body: its own limit, and the node's budget shared by all bodies in flight. */
export interface BodyLimits {
  /** Most bytes this body may have; 413 beyond. */
  limit: number;
  /** The declared Content-Length, already checked against `limit`; undefined when chunked. */
  length: number | undefined;
  /** Names the body in a 413's message ("the value", "the batch"). */
  what: string;
  budget: InflightBudget;
}

/** Joins received chunks into one Uint8Array that owns exactly their bytes (one copy). */
export function joinChunks(chunks: readonly Uint8Array[], size: number): Uint8Array {
  const joined = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    joined.set(chunk, at);
    at += chunk.length;
  }
  return joined;
}

function tooLarge(limit: number, what: string): HttpError {
  return new HttpError(413, 'too_large', `${what} exceeds the limit of ${limit} bytes`);
}

/** The Content-Length of a request without Transfer-Encoding, refused (413) past `limit`. */
export function declaredLength(
  declared: string | undefined,
  transferEncoding: string | undefined,
  limit: number,
  what: string,
): number | undefined {
  if (declared === undefined || transferEncoding !== undefined) return undefined;
  const length = Number(declared);
  if (!Number.isSafeInteger(length) || length < 0) {
    throw new HttpError(400, 'bad_request', `Content-Length is not a valid length: ${declared}`);
  }
  if (length > limit) throw tooLarge(limit, what);
  return length;
}

/**
 * One body's share of the node's budget: the bytes it holds. A small declared body is reserved
 * whole before it is read; any other grows chunk by chunk as bytes arrive, so a client that
 * declares 16 MiB and stalls holds (and reserves) only what it sent. Throws the
 * budget's 503 when bytes do not fit; `release()` returns everything and may be called again.
 */
class Reservation {
  readonly #budget: InflightBudget;
  readonly #whole: boolean;
  #held = 0;

  constructor(budget: InflightBudget, length: number | undefined) {
    this.#budget = budget;
    this.#whole = length !== undefined && length <= WHOLE_RESERVATION_BYTES;
    if (this.#whole) {
      budget.reserve(length!);
      this.#held = length!;
    }
  }

  grow(bytes: number): void {
    if (this.#whole) return;
    this.#budget.reserve(bytes);
    this.#held += bytes;
  }

  release(): void {
    this.#budget.release(this.#held);
    this.#held = 0;
  }
}

/** A received chunk as the body itself, when it is the only one and nothing else shares its memory. */
function soleChunk(chunks: readonly Buffer[]): Uint8Array | undefined {
  if (chunks.length !== 1) return undefined;
  const chunk = chunks[0]!;
  // Node's parser hands each chunk a memory of its own; a chunk cut from a shared one would keep
  // all of it alive for as long as the value is stored, so that one is copied.
  if (chunk.byteOffset !== 0 || chunk.byteLength !== chunk.buffer.byteLength) return undefined;
  return new Uint8Array(chunk.buffer, 0, chunk.byteLength);
}

/**
 * Reads Node's request stream directly (much cheaper than a web ReadableStream per request), and
 * calls `onBody` with the bytes or `onRefusal` with why not (400, 413, 503), once. The one body
 * reader of the hono routes (through {@link readIncoming}) and of the batch fast path, which takes
 * the callbacks to spare every batch a promise chain. The reservation is released on every way
 * out: the end of the body, a refusal, an error, an abort or the socket closing first. Past the
 * limit (or the budget) it stops listening and leaves the socket paused: @hono/node-server then
 * drains what is in flight for at most 500 ms / 64 MiB after the answer is sent, and closes the
 * connection, so the answer reaches the client and nothing is buffered.
 */
export function readIncomingInto(
  incoming: IncomingMessage,
  limits: BodyLimits,
  onBody: (body: Uint8Array) => void,
  onRefusal: (error: HttpError) => void,
): void {
  const { limit, length, what, budget } = limits;
  let reservation: Reservation;
  try {
    reservation = new Reservation(budget, length);
  } catch (error) {
    onRefusal(error as HttpError);
    return;
  }
  // Chunks are copied once, at the end, into memory the body owns exactly — unless there is only
  // one (the usual small body), which already does. Small ones after the first are gathered (keep).
  const chunks: Buffer[] = [];
  let size = 0;
  /** The block small chunks are being copied into, and how much of it they fill. */
  let block: Buffer | undefined;
  let filled = 0;
  const keep = (chunk: Buffer): void => {
    if (chunks.length === 0 || chunk.length >= SMALL_CHUNK_BYTES) {
      chunks.push(chunk);
      block = undefined;
      return;
    }
    if (block === undefined || filled + chunk.length > block.length) {
      block = Buffer.allocUnsafeSlow(SMALL_CHUNKS_BLOCK_BYTES);
      filled = 0;
      chunks.push(block.subarray(0, 0));
    }
    chunk.copy(block, filled);
    filled += chunk.length;
    chunks[chunks.length - 1] = block.subarray(0, filled);
  };
  const done = (): void => {
    reservation.release();
    incoming.off('data', onData);
    incoming.off('end', onEnd);
    incoming.off('error', onError);
    incoming.off('aborted', onAborted);
    incoming.off('close', onClose);
  };
  const refuse = (error: HttpError): void => {
    done();
    incoming.pause();
    onRefusal(error);
  };
  const onData = (chunk: Buffer): void => {
    if (size + chunk.length > limit) return refuse(tooLarge(limit, what));
    try {
      reservation.grow(chunk.length);
    } catch (error) {
      return refuse(error as HttpError);
    }
    keep(chunk);
    size += chunk.length;
  };
  const onEnd = (): void => {
    done();
    onBody(soleChunk(chunks) ?? joinChunks(chunks, size));
  };
  const onError = (error: Error): void => {
    done();
    onRefusal(
      new HttpError(400, 'bad_request', 'the request body could not be read', { cause: error }),
    );
  };
  const onAborted = (): void => onError(new Error('request aborted'));
  // Closed before its end (a timeout, a reset): nothing else may fire, and the bytes must return.
  const onClose = (): void => onError(new Error('connection closed before the body ended'));
  incoming.on('data', onData);
  incoming.on('end', onEnd);
  incoming.on('error', onError);
  incoming.on('aborted', onAborted);
  incoming.on('close', onClose);
}

/** {@link readIncomingInto} as a promise. */
export function readIncoming(incoming: IncomingMessage, limits: BodyLimits): Promise<Uint8Array> {
  return new Promise((resolve, reject) => readIncomingInto(incoming, limits, resolve, reject));
}

/** Fetch-runtime path (and `app.request()` in tests): reads the web stream and cancels it on overflow. */
async function readStream(
  body: ReadableStream<Uint8Array> | null,
  limits: BodyLimits,
): Promise<Uint8Array> {
  const { limit, length, what, budget } = limits;
  const reservation = new Reservation(budget, length);
  try {
    if (!body) return new Uint8Array(0);
    const reader = body.getReader();
    const chunks: Uint8Array[] = [];
    let size = 0;
    for (;;) {
      let next: Awaited<ReturnType<typeof reader.read>>;
      try {
        next = await reader.read();
      } catch (error) {
        throw new HttpError(400, 'bad_request', 'the request body could not be read', {
          cause: error,
        });
      }
      const { done, value } = next;
      if (done) break;
      size += value.length;
      try {
        if (size > limit) throw tooLarge(limit, what);
        reservation.grow(value.length);
      } catch (error) {
        await reader.cancel().catch(() => undefined);
        throw error;
      }
      chunks.push(value);
    }
    return joinChunks(chunks, size);
  } finally {
    reservation.release();
  }
}

/**
 * The request body as bytes, refused with 413 as soon as it passes `limit` bytes — before reading
 * anything when Content-Length already says so, and while streaming otherwise — and with 503 when
 * the node's in-flight body budget (`maxInflightBodyBytes`) cannot hold it.
 */
export async function readBody(
  c: Context<AppEnv>,
  node: Pick<NodeState, 'bodyBudget'>,
  limit: number,
  what = 'the body',
): Promise<Uint8Array> {
  const length = declaredLength(
    header(c, 'content-length'),
    header(c, 'transfer-encoding'),
    limit,
    what,
  );
  const limits: BodyLimits = { limit, length, what, budget: node.bodyBudget };
  const incoming = c.env?.incoming;
  const body =
    incoming && typeof incoming.on === 'function'
      ? await readIncoming(incoming, limits)
      : await readStream(c.req.raw.body, limits);
  return body;
}
