import type { Context, ErrorHandler, NotFoundHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { AppEnv, NodeState } from './app-env.js';
import { header } from './app-env.js';
import { isHttpError } from './errors/http-error.js';
import { requestIdFields } from './logger.js';
import { errorResponse } from './responses.js';

const CODES: Readonly<Record<number, string>> = {
  400: 'bad_request',
  401: 'unauthorized',
  404: 'not_found',
  405: 'method_not_allowed',
  406: 'not_acceptable',
  412: 'precondition_failed',
  413: 'too_large',
  415: 'unsupported_media_type',
};

/** The one place errors become responses: `{ error: { code, message } }` with the right status. */
export function errorHandler(node: NodeState): ErrorHandler<AppEnv> {
  return function onError(error, c) {
    if (isHttpError(error)) {
      node.metrics.recordError(error.status);
      node.logger.debug(
        'request_refused',
        `${error.status} ${c.req.method} ${c.req.path}: ${error.message}`,
        requestIdFields(header(c, 'x-request-id')),
      );
      return errorResponse(error.status, error.code, error.message, error.headers);
    }
    if (error instanceof HTTPException) {
      const status = error.status;
      node.metrics.recordError(status);
      return errorResponse(
        status,
        CODES[status] ?? 'http_error',
        error.message || `HTTP ${status}`,
      );
    }
    // Anything else is our bug, never the client's: log it, keep the details off the wire.
    node.metrics.recordError(500);
    node.logger.error(
      'request_error',
      `${c.req.method} ${c.req.path}: ${error.stack ?? String(error)}`,
      requestIdFields(header(c, 'x-request-id')),
    );
    return errorResponse(500, 'internal', 'internal error');
  };
}

/** Paths the node serves, with their methods: a known path with another method is a 405. */
const ROUTES: readonly [RegExp, string][] = [
  [/^\/v1\/keys\/[^/]+$/, 'GET, HEAD, PUT, DELETE'],
  [/^\/v1\/keys\/[^/]+\/(?:incr|decr|touch)$/, 'POST'],
  [/^\/v1\/batch$/, 'POST'],
  [/^\/v1\/flush$/, 'POST'],
  [/^\/v1\/snapshot$/, 'POST'],
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
    if (allow !== undefined) {
      node.metrics.recordError(405);
      return errorResponse(
        405,
        'method_not_allowed',
        `${c.req.method} is not allowed on ${path}; use ${allow}`,
        {
          allow,
        },
      );
    }
    node.metrics.recordError(404);
    return errorResponse(404, 'not_found', `no route ${path}`);
  };
}
