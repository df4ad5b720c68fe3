import { DcacheError } from './dcache-error.js';

/** `incr`/`decr` met a stored value that is not a number. Carries the key and the offending value's type. */
export class NotNumericError extends DcacheError {
  readonly key: string;
  readonly valueType: string;

  constructor(key: string, valueType: string) {
    super(`cannot incr/decr key "${key}": its value is a ${valueType}, not a number`);
    this.name = 'NotNumericError';
    this.key = key;
    this.valueType = valueType;
  }
}

export function isNotNumericError(error: unknown): error is NotNumericError {
  return (
    error instanceof NotNumericError || (error instanceof Error && error.name === 'NotNumericError')
  );
}
