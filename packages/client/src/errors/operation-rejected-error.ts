import { DcacheError } from './dcache-error.js';

/**
 * A node answered but refused this one operation (a key longer than its limit, a value too large,
 * incr on a value that is not a number). Retrying elsewhere would not help, so it is not a failover.
 */
export class OperationRejectedError extends DcacheError {
  readonly node: string;
  readonly key: string;
  /** HTTP-like status of the operation, e.g. 400 or 413. */
  readonly status: number;
  /** The node's error code, e.g. `too_large` (a value over the node's limit). */
  readonly code: string;

  constructor(node: string, key: string, status: number, code: string, message: string) {
    super(`${node} rejected key "${key}": ${code} (${status}) ${message}`);
    this.name = 'OperationRejectedError';
    this.node = node;
    this.key = key;
    this.status = status;
    this.code = code;
  }
}

export function isOperationRejectedError(error: unknown): error is OperationRejectedError {
  return (
    error instanceof OperationRejectedError ||
    (error instanceof Error && error.name === 'OperationRejectedError')
  );
}
