import { Hono } from 'hono';
import type { AppEnv, NodeState } from '../app-env.js';
import { header } from '../app-env.js';
import { readBody } from '../body.js';
import { encodingOfContentType } from '../codec/encoding.js';
import { HttpError } from '../../errors/http-error.js';
import { timed } from '../middleware/timed.js';
import type { RunBatch } from './batch-ops.js';
import { CLOCK_HEADER, RING_NODES_HEADER, START_HEADER } from './batch-ops.js';

/**
 * `POST /v1/batch`: ordered msgpack operations in, ordered results out (docs/wire-protocol.md).
 * Under CacheServer the well-formed requests take `batch-fast-path.ts` instead; this route serves
 * the rest (and every fetch runtime, and `app.request()`).
 */
export function batchRoutes(node: NodeState, runBatch: RunBatch): Hono<AppEnv> {
  const { options } = node;
  const app = new Hono<AppEnv>();
  app.post(
    '/',
    timed(node, 'batch', async (c) => {
      if (!isBatchType(header(c, 'content-type'))) {
        throw new HttpError(
          415,
          'unsupported_media_type',
          'a batch is sent as Content-Type: application/msgpack',
        );
      }
      const body = await readBody(c, node, options.maxBatchBytes, 'the batch');
      node.replicas.noteRingNodes(header(c, RING_NODES_HEADER));
      const results = runBatch(body);
      node.bodyBudget.holdUntilClosed(c.env?.outgoing, results.byteLength);
      return new Response(results, {
        status: 200,
        headers: {
          'content-type': 'application/msgpack',
          [CLOCK_HEADER]: `${node.replicas.clock.last}`,
          [START_HEADER]: `${node.replicas.startStamp}`,
        },
      });
    }),
  );
  return app;
}

/** Whether a batch's Content-Type is msgpack's (any other, known to PUT or not, is a batch's 415). */
function isBatchType(contentType: string | undefined): boolean {
  try {
    return encodingOfContentType(contentType) === 'msgpack';
  } catch {
    return false;
  }
}
