import type { IncomingMessage } from 'node:http';
import type { Context } from 'hono';
import type { AppEnv } from './app-env.js';
import { header } from './app-env.js';
import { HttpError } from './errors/http-error.js';
import type { NodeFlush } from './node-flush.js';

/**
 * A declared Content-Length up to this is allocated at once (one exact-size buffer, no copy);
 * a longer body is collected as it arrives and joined at the end, so a client that declares
 * 16 MiB and sends a byte costs a byte, not 16 MiB — many such connections cannot exhaust memory.
 */
export const EAGER_BODY_BYTES = 64 * 1024;

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

function declaredLength(c: Context<AppEnv>, limit: number, what: string): number | undefined {
  const declared = header(c, 'content-length');
  if (declared === undefined || header(c, 'transfer-encoding') !== undefined) return undefined;
  const length = Number(declared);
  if (!Number.isSafeInteger(length) || length < 0) {
    throw new HttpError(400, 'bad_request', `Content-Length is not a valid length: ${declared}`);
  }
  if (length > limit) throw tooLarge(limit, what);
  return length;
}

/**
 * Reads Node's request stream directly (much cheaper than a web ReadableStream per request).
 * Past the limit it stops listening and leaves the socket paused: @hono/node-server then drains
 * what is in flight for at most 500 ms / 64 MiB after the 413 is sent, and closes the connection,
 * so the 413 reaches the client and nothing is buffered.
 */
function readIncoming(
  incoming: IncomingMessage,
  limit: number,
  length: number | undefined,
  what: string,
): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    // With a small declared length the bytes land in one exact-size allocation; otherwise chunks
    // are copied once at the end. Either way the stored value owns exactly its bytes.
    const exact =
      length === undefined || length > EAGER_BODY_BYTES ? undefined : new Uint8Array(length);
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (): void => {
      incoming.off('data', onData);
      incoming.off('end', onEnd);
      incoming.off('error', onError);
      incoming.off('aborted', onAborted);
    };
    const onData = (chunk: Buffer): void => {
      if (size + chunk.length > limit) {
        done();
        incoming.pause();
        reject(tooLarge(limit, what));
        return;
      }
      if (exact) exact.set(chunk, size);
      else chunks.push(chunk);
      size += chunk.length;
    };
    const onEnd = (): void => {
      done();
      if (exact) resolve(size === exact.length ? exact : exact.subarray(0, size));
      else resolve(joinChunks(chunks, size));
    };
    const onError = (error: Error): void => {
      done();
      reject(
        new HttpError(400, 'bad_request', 'the request body could not be read', { cause: error }),
      );
    };
    const onAborted = (): void => onError(new Error('request aborted'));
    incoming.on('data', onData);
    incoming.on('end', onEnd);
    incoming.on('error', onError);
    incoming.on('aborted', onAborted);
  });
}

/** Fetch-runtime path (and `app.request()` in tests): reads the web stream and cancels it on overflow. */
async function readStream(
  body: ReadableStream<Uint8Array> | null,
  limit: number,
  what: string,
): Promise<Uint8Array> {
  if (!body) return new Uint8Array(0);
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > limit) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge(limit, what);
    }
    chunks.push(value);
  }
  return joinChunks(chunks, size);
}

/**
 * The request body as bytes, refused with 413 as soon as it passes `limit` bytes — before reading
 * anything when Content-Length already says so, and while streaming otherwise.
 *
 * `flush` (the node's) is settled once the body has arrived: the caller touches the cache next,
 * and the flush time may have come while the body was in flight — a write made after it must
 * stay, and a read after it must miss what was written before it.
 */
export async function readBody(
  c: Context<AppEnv>,
  flush: NodeFlush,
  limit: number,
  what = 'the body',
): Promise<Uint8Array> {
  const length = declaredLength(c, limit, what);
  const incoming = c.env?.incoming;
  const body =
    incoming && typeof incoming.on === 'function'
      ? await readIncoming(incoming, limit, length, what)
      : await readStream(c.req.raw.body, limit, what);
  flush.settle();
  return body;
}
