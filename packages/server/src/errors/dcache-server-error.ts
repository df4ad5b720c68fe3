/** Base of every error @dcache/server throws on purpose. */
export class DcacheServerError extends Error {
  override name = 'DcacheServerError';
}

/** The names of this package's errors: the base and its subclasses. */
const NAMES = new Set(['DcacheServerError', 'HttpError', 'SnapshotError', 'UsageError']);

/**
 * True for any error of this package, also from another copy of it (two versions installed, a
 * bundle) where `instanceof` fails: recognised by name, as the subclasses' guards are.
 */
export function isDcacheServerError(error: unknown): error is DcacheServerError {
  return error instanceof DcacheServerError || (error instanceof Error && NAMES.has(error.name));
}
