import { Hono } from 'hono';
import type { AppEnv, NodeState } from '../app-env.js';
import { timed } from '../middleware/timed.js';
import { parseDelayParam } from '../../operations/validate.js';

/**
 * `POST /v1/flush[?delay=<ms>]`: empties the node now, or `delay` ms from now — memcached's
 * `flush_all [delay]` (Redis' `FLUSHALL` has no delay), with the delay in milliseconds like every
 * duration of this API. A POST of its own rather than `DELETE /v1/keys`, one slash away from
 * deleting a single key. It sets the node's one flush time (NodeFlush): a flush still pending —
 * from here, a batch or memcached's `flush_all <delay>` — is replaced, not kept.
 */
export function flushRoutes(node: NodeState): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.post(
    '/',
    timed(node, 'flush', (c) => {
      node.flush.flush(parseDelayParam(c.req.query('delay')));
      return new Response(null, { status: 204 });
    }),
  );
  return app;
}
