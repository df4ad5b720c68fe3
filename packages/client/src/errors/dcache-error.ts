/** Base class of every error @dcache/client throws on purpose (besides TypeError/RangeError for bad input). */
export class DcacheError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'DcacheError';
  }
}

const NAMES = new Set([
  'DcacheError',
  'NodeRequestError',
  'NodeTimeoutError',
  'OperationRejectedError',
  'CacheUnavailableError',
  'FlushIncompleteError',
  'DiscoveryError',
]);

/** True for any error of this package, also across realms/bundles where `instanceof` fails. */
export function isDcacheError(error: unknown): error is DcacheError {
  return error instanceof DcacheError || (error instanceof Error && NAMES.has(error.name));
}
