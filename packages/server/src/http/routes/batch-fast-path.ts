import type { IncomingMessage, ServerResponse } from 'node:http';
import type { NodeState } from '../app-env.js';
import { encodingOfContentType } from '../codec/encoding.js';
import { readIncomingInto } from '../body.js';
import { errorJson, refusalOf } from '../../operations/refusal.js';
import type { RunBatch } from './batch-ops.js';
import { CLOCK_HEADER, RING_NODES_HEADER } from './batch-ops.js';

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
 * It reads the body with the routes' own reader (body.ts, called back rather than through a
 * promise), which counts its bytes in the node's in-flight budget and refuses them (503) past it.
 * What the two share (decoding, the operations, the envelope errors) is `batchRunner`, so their
 * answers are the same.
 */
export function batchFastPath(node: NodeState, runBatch: RunBatch): FastPath {
  const { metrics, options, bodyBudget } = node;
  const clock = node.replicas.clock;
  // The node's one auth check (the middleware's); a mismatch goes to hono, which answers 401.
  const { authorized } = node;

  function answer(
    res: ServerResponse,
    status: number,
    type: string,
    body: Uint8Array | string,
    headers?: Readonly<Record<string, string>>,
  ): void {
    res.writeHead(status, {
      ...headers,
      'content-type': type,
      'content-length': Buffer.byteLength(body),
    });
    res.end(body);
    bodyBudget.holdUnflushed(res);
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
    // The flat form: Node writes it out as is, without building a headers object.
    res.writeHead(200, [
      'content-type',
      'application/msgpack',
      'content-length',
      `${results.byteLength}`,
      CLOCK_HEADER,
      `${clock.last}`,
    ]);
    res.end(results);
    bodyBudget.holdUnflushed(res);
  }

  // What can fail while or after the body is read, answered as the error handler answers it.
  function fail(res: ServerResponse, error: unknown): void {
    const refusal = refusalOf(node, error, {
      method: 'POST',
      path: '/v1/batch',
      requestId: res.req.headers['x-request-id'],
    });
    if (res.headersSent || res.destroyed) return;
    const headers = { ...refusal.headers };
    // Refused mid-body (503): the rest is not wanted, and a stalled sender must not keep the socket.
    if (!res.req.complete) headers.connection = 'close';
    answer(
      res,
      refusal.status,
      'application/json',
      errorJson(refusal.code, refusal.message),
      headers,
    );
  }

  return function batchFast(req, res) {
    if (req.method !== 'POST' || req.url !== '/v1/batch' || bodyBudget.spent) return false;
    const headers = req.headers;
    const declared = headers['content-length'];
    if (declared === undefined || headers['transfer-encoding'] !== undefined) return false;
    const length = Number(declared);
    if (!Number.isSafeInteger(length) || length < 0 || length > options.maxBatchBytes) return false;
    if (!isMsgpack(headers['content-type']) || !authorized(headers.authorization)) return false;

    const ringNodes = headers[RING_NODES_HEADER];
    node.replicas.noteRingNodes(typeof ringNodes === 'string' ? ringNodes : undefined);
    const start = performance.now();
    metrics.start();
    readIncomingInto(
      req,
      { limit: options.maxBatchBytes, length, what: 'the batch', budget: bodyBudget },
      (body) => {
        // Called from the request's 'end' event: a throw here would end the process.
        try {
          respond(res, body, start);
        } catch (error) {
          fail(res, error);
        }
      },
      (error) => {
        // Refused mid-body (503), or the client gone (nobody left to answer; counted like hono's 400).
        metrics.record('batch', performance.now() - start);
        fail(res, error);
      },
    );
    return true;
  };
}
