import { Hono } from 'hono';
import type { AppEnv, NodeState } from '../app-env.js';
import { timed } from '../middleware/timed.js';

/**
 * `POST /v1/fence`: every entry the node holds now becomes unverified (never-stale.md §5) — sent
 * by a peer whose hints for this node overflowed, by a client whose hint no node took, or by an
 * operator who knows the node missed writes. Costs one comparison per read afterwards, and one
 * verification per key read.
 */
export function fenceRoutes(node: NodeState): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.post(
    '/',
    timed(node, 'fence', () => {
      node.replicas.fence();
      node.logger.info('fenced', 'fenced on request: entries held now are unverified');
      return new Response(null, { status: 204 });
    }),
  );
  return app;
}
