import { Hono } from 'hono';
import type { AppEnv, NodeState } from '../app-env.js';
import { timed } from '../middleware/timed.js';
import { json } from '../responses.js';
import { prometheusText, statsSnapshot } from '../../observability/stats.js';

/** `/v1/stats` (JSON), `/metrics` (Prometheus) and `/healthz`. */
export function statsRoutes(node: NodeState): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get(
    '/v1/stats',
    timed(node, 'stats', () => json(JSON.stringify(statsSnapshot(node)))),
  );
  app.get(
    '/metrics',
    timed(
      node,
      'metrics',
      () =>
        new Response(prometheusText(node), {
          headers: { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' },
        }),
    ),
  );
  app.get(
    '/healthz',
    timed(node, 'health', () =>
      json(JSON.stringify({ status: 'ok', nodeId: node.options.nodeId })),
    ),
  );
  return app;
}
