// A span per HTTP request, while a tracing SDK is registered.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Operation } from './metrics.js';
import { tracing } from './telemetry.js';

const KEY_ROUTE = /^\/v1\/keys\/[^/]+$/;
const KEY_ACTION = /^\/v1\/keys\/[^/]+\/(incr|decr|touch)$/;

const FIXED: Readonly<Record<string, Operation>> = {
  '/v1/batch': 'batch',
  '/v1/flush': 'flush',
  '/v1/snapshot': 'snapshot',
  '/v1/fence': 'fence',
  '/v1/keys': 'list',
  '/v1/restore-claim': 'claim',
  '/v1/stats': 'stats',
  '/metrics': 'metrics',
  '/healthz': 'health',
};

const KEY_METHODS: Readonly<Record<string, Operation>> = {
  GET: 'get',
  HEAD: 'get',
  PUT: 'set',
  DELETE: 'delete',
};

/**
 * The operation (as /metrics' `op` label names it) and route template of a request; undefined for
 * a path the node does not serve. The key stays out of the route: keys may be private, and a
 * name per key would make every span name unique.
 */
export function routeOf(
  method: string | undefined,
  url: string | undefined,
): { op: Operation; route: string } | undefined {
  if (url === undefined) return undefined;
  const query = url.indexOf('?');
  const path = query === -1 ? url : url.slice(0, query);
  const fixed = FIXED[path];
  if (fixed !== undefined) return { op: fixed, route: path };
  const action = KEY_ACTION.exec(path)?.[1] as Operation | undefined;
  if (action !== undefined) return { op: action, route: `/v1/keys/{key}/${action}` };
  const op = method === undefined ? undefined : KEY_METHODS[method];
  return op !== undefined && KEY_ROUTE.test(path) ? { op, route: '/v1/keys/{key}' } : undefined;
}

/**
 * Starts the request's span — `dcache.server.<op>` (the op of /metrics, e.g. `dcache.server.get`),
 * `dcache.server.request` for a path the node does not serve — as a child of a `traceparent` the
 * request carries (with a propagator registered), and ends it when the response is done. A 5xx,
 * or a connection closed before the answer was sent, marks it ERROR. Without an SDK: one check.
 */
export function traceRequest(req: IncomingMessage, res: ServerResponse, nodeId: string): void {
  const tracer = tracing?.tracer();
  if (tracer === undefined) return;
  const api = tracing!.api;
  const route = routeOf(req.method, req.url);
  const parent = api.propagation.extract(api.context.active(), req.headers);
  const span = tracer.startSpan(
    `dcache.server.${route?.op ?? 'request'}`,
    {
      kind: api.SpanKind.SERVER,
      attributes: {
        'http.request.method': req.method ?? '',
        'dcache.node_id': nodeId,
        ...(route ? { 'http.route': route.route, 'dcache.operation': route.op } : {}),
      },
    },
    parent,
  );
  if (!span.isRecording()) return;
  res.once('close', () => {
    const status = res.statusCode;
    span.setAttribute('http.response.status_code', status);
    if (status >= 500) {
      span.setStatus({ code: api.SpanStatusCode.ERROR, message: `HTTP ${status}` });
      span.setAttribute('error.type', `${status}`);
    } else if (!res.writableFinished) {
      span.setStatus({
        code: api.SpanStatusCode.ERROR,
        message: 'closed before the answer was sent',
      });
    }
    span.end();
  });
}
