import type { IncomingMessage, ServerResponse } from 'node:http';
import type { NodeState } from '../app-env.js';
import { encodingOfContentType } from '../encoding.js';
import { isHttpError } from '../errors/http-error.js';
import { EAGER_BODY_BYTES, joinChunks } from '../body.js';
import { requestIdFields } from '../logger.js';
import { bearerChecker } from '../middleware/auth.js';
import type { RunBatch } from './batch-ops.js';
import { CLOCK_HEADER } from './batch-ops.js';

/** Handles the request and returns true, or returns false and leaves it untouched. */
export type FastPath = (req: IncomingMessage, res: ServerResponse) => boolean;

function isMsgpack(type: string | undefined): boolean {
  try {
    return encodingOfContentType(type) === 'msgpack';
  } catch {
    return false; // not a type we take: the hono route answers 415
  }
}

/**
 * `POST /v1/batch` straight on Node's request and response, skipping hono's routing and the web
 * `Request`/`Response` that @hono/node-server builds around every request: measured with the server
 * benchmark, a 100-operation batch fell from ~166 to ~100 µs of node CPU. It takes only requests
 * whose every precondition holds — msgpack Content-Type, a Content-Length within `maxBatchBytes`
 * (Node then guarantees the body's size), no Transfer-Encoding, and the token when one is set — and
 * leaves all others to the hono route, which produces the 401/413/415 and streaming-limit answers.
 * What the two share (decoding, the operations, the envelope errors) is `batchRunner`, so their
 * answers are the same.
 */
export function batchFastPath(node: NodeState, runBatch: RunBatch): FastPath {
  const { metrics, logger, options } = node;
  const clock = node.replicas.clock;
  const matches = options.token === undefined ? undefined : bearerChecker(options.token);

  // The auth middleware's check; a mismatch goes to hono, which answers 401.
  function authorized(req: IncomingMessage): boolean {
    return matches === undefined || matches(req.headers.authorization);
  }

  function answer(
    res: ServerResponse,
    status: number,
    type: string,
    body: Uint8Array | string,
  ): void {
    res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }

  function respond(res: ServerResponse, body: Uint8Array, start: number): void {
    let results: Uint8Array;
    try {
      results = runBatch(body);
    } catch (error) {
      metrics.record('batch', performance.now() - start);
      fail(res, error);
      return;
    }
    metrics.record('batch', performance.now() - start);
    res.setHeader(CLOCK_HEADER, `${clock.last}`);
    answer(res, 200, 'application/msgpack', results);
  }

  // The error handler's shapes (error-handler.ts) for what can fail after the body is read.
  function fail(res: ServerResponse, error: unknown): void {
    let status = 500;
    let code = 'internal';
    let message = 'internal error';
    if (isHttpError(error)) {
      ({ status, code, message } = error);
      logger.debug(
        'request_refused',
        `${status} POST /v1/batch: ${message}`,
        requestIdFields(res.req.headers['x-request-id']),
      );
    } else {
      logger.error(
        'request_error',
        `POST /v1/batch: ${error instanceof Error ? (error.stack ?? '') : String(error)}`,
        requestIdFields(res.req.headers['x-request-id']),
      );
    }
    metrics.recordError(status);
    if (res.headersSent || res.destroyed) return;
    answer(res, status, 'application/json', JSON.stringify({ error: { code, message } }));
  }

  return function batchFast(req, res) {
    if (req.method !== 'POST' || req.url !== '/v1/batch') return false;
    const headers = req.headers;
    const declared = headers['content-length'];
    if (declared === undefined || headers['transfer-encoding'] !== undefined) return false;
    const length = Number(declared);
    if (!Number.isSafeInteger(length) || length < 0 || length > options.maxBatchBytes) return false;
    if (!isMsgpack(headers['content-type']) || !authorized(req)) return false;

    const start = performance.now();
    metrics.start();
    // Node ends the body at Content-Length, so one exact-size buffer can hold it — allocated up
    // front only for small bodies (body.ts, EAGER_BODY_BYTES); bigger ones are joined at the end.
    const exact = length <= EAGER_BODY_BYTES ? new Uint8Array(length) : undefined;
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      if (exact) exact.set(chunk, size);
      else chunks.push(chunk);
      size += chunk.length;
    });
    let ended = false;
    req.on('end', () => {
      ended = true;
      respond(res, exact ?? joinChunks(chunks, size), start);
    });
    // A client gone mid-body: nobody is left to answer, but the request is counted like hono's 400.
    req.on('close', () => {
      if (ended) return;
      ended = true;
      metrics.record('batch', performance.now() - start);
      metrics.recordError(400);
    });
    req.on('error', () => undefined); // the 'close' above accounts for it
    return true;
  };
}
