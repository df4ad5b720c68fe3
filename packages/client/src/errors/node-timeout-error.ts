import { NodeRequestError } from './node-request-error.js';

/** A node did not answer within the client's `timeout`. */
export class NodeTimeoutError extends NodeRequestError {
  /** The timeout that elapsed, in milliseconds. */
  readonly timeout: number;
  /**
   * True when the request never went out: it waited for one of the node's connections, all busy
   * with this client's other requests, which were on the wire. That says this client sent too much
   * at once, not that the node failed, so the failure detector does not count it.
   */
  readonly waitedForConnection: boolean;

  constructor(
    node: string,
    timeout: number,
    options?: ErrorOptions & { waitedForConnection?: boolean },
  ) {
    const waited = options?.waitedForConnection === true;
    super(
      node,
      waited
        ? `not sent within ${timeout} ms: every connection to the node was busy with this client's other requests`
        : `no answer within ${timeout} ms`,
      options,
    );
    this.name = 'NodeTimeoutError';
    this.timeout = timeout;
    this.waitedForConnection = waited;
  }
}

export function isNodeTimeoutError(error: unknown): error is NodeTimeoutError {
  return (
    error instanceof NodeTimeoutError ||
    (error instanceof Error && error.name === 'NodeTimeoutError')
  );
}
