import type { IncomingMessage, ServerResponse } from 'node:http';
import type { NodeState } from '../app-env.js';
import { isMsgpackType } from '../codec/encoding.js';
import { readIncomingInto } from '../body.js';
import type { BatchAnswer, BatchAnswerer } from './batch-answer.js';
import { RING_NODES_HEADER } from './batch-ops.js';
import { acceptedHost } from '../accepted-host.js';

/** Handles the request and returns true, or returns false and leaves it untouched. */
export type FastPath = (req: IncomingMessage, res: ServerResponse) => boolean;

/**
 * Takes the request and returns a promise that settles once it is answered (its body read, the
 * batch run), or returns false and leaves it untouched.
 */
export type BatchFastPath = (req: IncomingMessage, res: ServerResponse) => Promise<void> | false;

/**
 * `POST /v1/batch` straight on Node's request and response, skipping hono's routing and the web
 * `Request`/`Response` that @hono/node-server builds around every request: measured with the server
 * benchmark, a 100-operation batch fell from ~166 to ~100 µs of node CPU. It takes only requests
 * whose every precondition holds — msgpack Content-Type, a Content-Length within `maxBatchBytes`
 * (Node then guarantees the body's size), no Transfer-Encoding, and the token when one is set — and
 * leaves all others to the hono route, which produces the 401/413/415 and streaming-limit answers.
 * It reads the body with the routes' own reader (body.ts, called back rather than through a
 * promise), which counts its bytes in the node's in-flight budget and refuses them (503) past it.
 * The batch lane (batch-lane/) answers most batches before Node's server sees them; this path
 * takes those on a connection the lane has handed to Node, and those over TLS. Both answer
 * through `batchAnswerer`, so their answers are the same.
 */
export function batchFastPath(node: NodeState, answerer: BatchAnswerer): BatchFastPath {
  const { metrics, options, bodyBudget, authorized, hosts } = node;
  const hostAccepted = acceptedHost();

  function send(res: ServerResponse, answer: BatchAnswer, close = false): void {
    if (res.headersSent || res.destroyed) return;
    const headers = [...answer.headers, 'content-length', `${Buffer.byteLength(answer.body)}`];
    // Refused mid-body (503): the rest is not wanted, and a stalled sender must not keep the socket.
    if (close) headers.push('connection', 'close');
    res.writeHead(answer.status, headers);
    res.end(answer.body);
    bodyBudget.holdUnflushed(res);
  }

  function requestIdOf(req: IncomingMessage): string | undefined {
    const id = req.headers['x-request-id'];
    return Array.isArray(id) ? id.join(', ') : id;
  }

  return function batchFast(req, res) {
    if (req.method !== 'POST' || req.url !== '/v1/batch' || bodyBudget.refuses(req.socket)) {
      return false;
    }
    const headers = req.headers;
    // No Host (Node lets it through, see cache-server.ts), or one the adapter refuses: its JSON 400.
    if (!hostAccepted(headers.host) || !hosts.serves(headers.host)) return false;
    const declared = headers['content-length'];
    if (declared === undefined || headers['transfer-encoding'] !== undefined) return false;
    const length = Number(declared);
    if (!Number.isSafeInteger(length) || length < 0 || length > options.maxBatchBytes) return false;
    if (!isMsgpackType(headers['content-type']) || !authorized(headers.authorization)) return false;
    // A web browser's request: the app's to refuse (browser-guard.ts).
    if (headers.origin !== undefined || headers['sec-fetch-site'] !== undefined) return false;

    const ringNodes = headers[RING_NODES_HEADER];
    node.replicas.noteRingNodes(typeof ringNodes === 'string' ? ringNodes : undefined);
    const start = performance.now();
    metrics.start();
    return new Promise<void>((answered) => {
      readIncomingInto(
        req,
        { limit: options.maxBatchBytes, length, what: 'the batch', budget: bodyBudget },
        (body) => {
          // Called from the request's 'end' event: a throw here would end the process.
          try {
            send(res, answerer.run(body, requestIdOf(req), start));
          } catch (error) {
            send(res, answerer.refusal(error, requestIdOf(req)));
          } finally {
            answered();
          }
        },
        (error) => {
          // Refused mid-body (503), or the client gone (nobody left to answer; counted like hono's 400).
          try {
            metrics.record('batch', performance.now() - start);
            send(res, answerer.refusal(error, requestIdOf(req)), !req.complete);
          } finally {
            answered();
          }
        },
      );
    });
  };
}
