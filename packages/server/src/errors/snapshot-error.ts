import { DcacheServerError } from './dcache-server-error.js';

/**
 * A snapshot file that could not be read, was not a valid snapshot, or could not be written.
 * A node that meets one at start logs it and starts empty; `close()` rejects with one when the
 * shutdown snapshot could not be saved (the node is closed either way).
 */
export class SnapshotError extends DcacheServerError {
  override name = 'SnapshotError';
  /** The snapshot file at fault. */
  readonly file: string;

  constructor(file: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.file = file;
  }
}

export function isSnapshotError(error: unknown): error is SnapshotError {
  return (
    error instanceof SnapshotError || (error instanceof Error && error.name === 'SnapshotError')
  );
}
