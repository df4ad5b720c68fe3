/** Base class of every error @dcache/core throws on purpose (besides TypeError/RangeError for bad input). */
export class DcacheError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'DcacheError';
  }
}

/**
 * Every name a DcacheError of this package carries: across realms/bundles `instanceof` fails, and
 * a subclass's name is its own, not 'DcacheError'.
 */
const NAMES: ReadonlySet<string> = new Set(['DcacheError', 'NotNumericError']);

/** True for any DcacheError, also across realms/bundles where `instanceof` fails. */
export function isDcacheError(error: unknown): error is DcacheError {
  return error instanceof DcacheError || (error instanceof Error && NAMES.has(error.name));
}
