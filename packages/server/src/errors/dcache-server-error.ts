/** Base of every error @dcache/server throws on purpose. */
export class DcacheServerError extends Error {
  override name = 'DcacheServerError';
}

export function isDcacheServerError(error: unknown): error is DcacheServerError {
  return error instanceof DcacheServerError;
}
