import type { Context, ErrorHandler, NotFoundHandler } from 'hono';
import type { AppEnv, NodeState } from './app-env.js';
import { header } from './app-env.js';
import { requestIdFields } from '../observability/logger.js';
import { refusalOf } from '../operations/refusal.js';
import { errorResponse } from './responses.js';

/** The one place errors become responses: `{ error: { code, message } }` with the right status. */
export function errorHandler(node: NodeState): ErrorHandler<AppEnv> {
  return function onError(error, c) {
    const refusal = refusalOf(node, error, {
      method: c.req.method,
      path: c.req.path,
      requestId: header(c, 'x-request-id'),
    });
    return errorResponse(refusal.status, refusal.code, refusal.message, refusal.headers);
  };
}

/** Paths the node serves, with their methods: a known path with another method is a 405. */
const ROUTES: readonly [RegExp, string][] = [
  [/^\/v1\/keys$/, 'GET, HEAD'],
  [/^\/v1\/keys\/[^/]+$/, 'GET, HEAD, PUT, DELETE'],
  [/^\/v1\/keys\/[^/]+\/(?:incr|decr|touch)$/, 'POST'],
  [/^\/v1\/batch$/, 'POST'],
  [/^\/v1\/flush$/, 'POST'],
  [/^\/v1\/snapshot$/, 'POST'],
  [/^\/v1\/fence$/, 'POST'],
  [/^\/v1\/restore-claim$/, 'POST'],
  [/^\/v1\/stats$/, 'GET, HEAD'],
  [/^\/metrics$/, 'GET, HEAD'],
  [/^\/healthz$/, 'GET, HEAD'],
];

/**
 * No route matched: 405 with `Allow` when the path is known, else 404. Done here rather than with
 * catch-all routes so each real route keeps a single handler (hono's synchronous fast path).
 */
export function notFoundHandler(node: NodeState): NotFoundHandler<AppEnv> {
  return function notFound(c: Context<AppEnv>) {
    const path = c.req.path;
    const allow = ROUTES.find(([pattern]) => pattern.test(path))?.[1];
    const fields = requestIdFields(header(c, 'x-request-id'));
    if (allow !== undefined) {
      const message = `${c.req.method} is not allowed on ${path}; use ${allow}`;
      node.metrics.recordError(405);
      node.logger.debug('request_refused', `405 ${c.req.method} ${path}: ${message}`, fields);
      return errorResponse(405, 'method_not_allowed', message, { allow });
    }
    node.metrics.recordError(404);
    node.logger.debug('request_refused', `404 ${c.req.method} ${path}: no route`, fields);
    return errorResponse(404, 'not_found', `no route ${path}`);
  };
}
