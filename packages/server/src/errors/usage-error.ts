import { DcacheServerError } from './dcache-server-error.js';

/** A bad command-line flag or environment variable; the CLI prints it and exits with code 2. */
export class UsageError extends DcacheServerError {
  override name = 'UsageError';
  /** The flag (e.g. `--max-memory`) or variable (e.g. `DCACHE_PORT`) at fault. */
  readonly flag: string;

  constructor(flag: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.flag = flag;
  }
}

export function isUsageError(error: unknown): error is UsageError {
  return error instanceof UsageError || (error instanceof Error && error.name === 'UsageError');
}
