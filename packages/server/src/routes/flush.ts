import { Hono } from 'hono';
import type { AppEnv, NodeState } from '../app-env.js';
import { timed } from '../middleware/timed.js';

/**
 * `POST /v1/flush`: empties the node at once, as memcached's `flush_all` and Redis' `FLUSHALL` do.
 * A POST of its own rather than `DELETE /v1/keys`, one slash away from deleting a single key.
 */
export function flushRoutes(node: NodeState): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.post(
    '/',
    timed(node.metrics, 'flush', () => {
      node.cache.clear();
      return new Response(null, { status: 204 });
    }),
  );
  return app;
}
