import { DcacheServerError } from './dcache-server-error.js';

/**
 * A client-visible failure: the error handler turns it into `{ error: { code, message } }`
 * with `status`. `code` is stable snake_case that clients may switch on.
 */
export class HttpError extends DcacheServerError {
  override name = 'HttpError';
  readonly status: number;
  readonly code: string;
  /** Extra response headers (e.g. `Allow` on a 405). */
  readonly headers: Readonly<Record<string, string>> | undefined;

  constructor(
    status: number,
    code: string,
    message: string,
    options?: { cause?: unknown; headers?: Record<string, string> },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.status = status;
    this.code = code;
    this.headers = options?.headers;
  }
}

export function isHttpError(error: unknown): error is HttpError {
  return error instanceof HttpError || (error instanceof Error && error.name === 'HttpError');
}
