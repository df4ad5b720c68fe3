import { DcacheError } from './dcache-error.js';

/**
 * A request to one node failed as a whole: the connection was refused or reset, the node answered
 * with an HTTP error status (then `status` and `code` carry it), or its answer was unreadable.
 */
export class NodeRequestError extends DcacheError {
  /** Base URL of the node. */
  readonly node: string;
  /** HTTP status when the node answered, otherwise undefined. */
  readonly status: number | undefined;
  /** The node's error code (`{ error: { code } }`), when it sent one. */
  readonly code: string | undefined;
  /** Seconds the answer asked to wait before trying again (`Retry-After`), when it said. */
  readonly retryAfter: number | undefined;

  constructor(
    node: string,
    message: string,
    options?: ErrorOptions & { status?: number; code?: string; retryAfter?: number },
  ) {
    super(`${node}: ${message}`, options);
    this.name = 'NodeRequestError';
    this.node = node;
    this.status = options?.status;
    this.code = options?.code;
    this.retryAfter = options?.retryAfter;
  }

  /** The node answered with a 4xx: it is up, the request was wrong (bad token, bad batch). */
  get refused(): boolean {
    return this.status !== undefined && this.status < 500;
  }
}

export function isNodeRequestError(error: unknown): error is NodeRequestError {
  return (
    error instanceof NodeRequestError ||
    (error instanceof Error &&
      (error.name === 'NodeRequestError' || error.name === 'NodeTimeoutError'))
  );
}
