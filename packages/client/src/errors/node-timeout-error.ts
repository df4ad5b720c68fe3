import { NodeRequestError } from './node-request-error.js';

/** A node did not answer within the client's `timeout`. */
export class NodeTimeoutError extends NodeRequestError {
  /** The timeout that elapsed, in milliseconds. */
  readonly timeout: number;

  constructor(node: string, timeout: number, options?: ErrorOptions) {
    super(node, `no answer within ${timeout} ms`, options);
    this.name = 'NodeTimeoutError';
    this.timeout = timeout;
  }
}

export function isNodeTimeoutError(error: unknown): error is NodeTimeoutError {
  return (
    error instanceof NodeTimeoutError ||
    (error instanceof Error && error.name === 'NodeTimeoutError')
  );
}
