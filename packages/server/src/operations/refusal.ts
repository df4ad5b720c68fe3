import { HTTPException } from 'hono/http-exception';
import type { NodeState } from '../http/app-env.js';
import { HttpError, isHttpError } from '../errors/http-error.js';
import { requestIdFields } from '../observability/logger.js';

/** A refused request as the wire carries it: `{ error: { code, message } }` with `status`. */
export interface Refusal {
  readonly status: number;
  readonly code: string;
  readonly message: string;
  /** Extra response headers (`www-authenticate`, `retry-after`, `allow`). */
  readonly headers: Readonly<Record<string, string>> | undefined;
}

/**
 * A refused operation as a value: the batch answers it as `[status, code, message]` without a
 * thrown exception (no stack captured, no unwinding per bad operation); the single-key routes
 * throw it as an HttpError ({@link orThrow}).
 */
export class Refused implements Refusal {
  readonly headers = undefined;
  constructor(
    readonly status: number,
    readonly code: string,
    readonly message: string,
  ) {}
}

/** `value`, or the HttpError of its refusal. */
export function orThrow<T>(value: T | Refused): T {
  if (value instanceof Refused) throw new HttpError(value.status, value.code, value.message);
  return value;
}

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

const INTERNAL: Refusal = {
  status: 500,
  code: 'internal',
  message: 'internal error',
  headers: undefined,
};

/** The one error body on the wire. */
export function errorJson(code: string, message: string): string {
  return JSON.stringify({ error: { code, message } });
}

/**
 * What any door answers for `error`, counted and logged the same way whichever door met it (the
 * hono app's error handler, the raw fast paths): an HttpError or hono's HTTPException is the
 * client's (logged at debug), anything else is our bug — logged with its stack, and answered as
 * a bare 500 that keeps the details off the wire.
 */
export function refusalOf(
  node: Pick<NodeState, 'metrics' | 'logger'>,
  error: unknown,
  request: { method: string; path: string; requestId: string | string[] | undefined },
): Refusal {
  let refusal: Refusal;
  if (isHttpError(error)) {
    refusal = error;
    const line = `${error.status} ${request.method} ${request.path}: ${error.message}`;
    // A 5xx other than 503 (overloaded: the client's to retry) is the node failing, as a failed
    // snapshot save: an operator must see it at the default level.
    if (error.status >= 500 && error.status !== 503) {
      node.logger.error('request_error', line, requestIdFields(request.requestId));
    } else {
      node.logger.debug('request_refused', line, requestIdFields(request.requestId));
    }
  } else if (error instanceof HTTPException) {
    const status = error.status;
    refusal = {
      status,
      code: CODES[status] ?? 'http_error',
      message: error.message || `HTTP ${status}`,
      headers: undefined,
    };
  } else {
    refusal = INTERNAL;
    node.logger.error(
      'request_error',
      `${request.method} ${request.path}: ${error instanceof Error ? (error.stack ?? '') : String(error)}`,
      requestIdFields(request.requestId),
    );
  }
  node.metrics.recordError(refusal.status);
  return refusal;
}
