import { HttpError } from '../../errors/http-error.js';

/**
 * Deepest nesting of arrays and maps (objects) in a stored JSON or msgpack value or a batch. The
 * decoders, the encoders and the JSON ⇄ msgpack conversion recurse once per level, and msgpackr
 * overflows the stack somewhere past 1000 levels; 512 leaves room for a request's own frames and
 * is far beyond any document a cache is asked to hold.
 */
export const MAX_NESTING = 512;

/** The 400 for a value nested past MAX_NESTING, so clients see a limit, not "invalid". */
export function tooDeep(what: string): HttpError {
  return new HttpError(
    400,
    'too_deep',
    `${what} has arrays or maps nested deeper than ${MAX_NESTING} levels (the limit)`,
  );
}
