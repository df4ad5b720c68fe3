/** incr/decr arithmetic: the checks that keep a counter exact. */
import { NotNumericError } from './errors/not-numeric-error.js';
import { describe } from './validate.js';

export function assertDelta(delta: unknown, method: string): asserts delta is number {
  if (typeof delta !== 'number') {
    throw new TypeError(`${method}: delta must be a number, got ${describe(delta)}`);
  }
  if (!Number.isFinite(delta)) {
    throw new RangeError(`${method}: delta must be a finite number, got ${delta}`);
  }
}

/**
 * `current + delta`; NotNumericError when `current` is not a number, RangeError when either side
 * leaves the safe integer range: past ±(2^53 − 1) a double no longer holds every integer, so a
 * counter there would silently stick or skip (2^53 + 1 === 2^53). Fractions inside the range stay
 * allowed. NaN fails too.
 */
export function addToCount(key: string, current: unknown, delta: number, method: string): number {
  if (typeof current !== 'number') {
    throw new NotNumericError(key, describe(current).split(' ')[0]!);
  }
  const next = current + delta;
  if (!(
    Math.abs(current) <= Number.MAX_SAFE_INTEGER && Math.abs(next) <= Number.MAX_SAFE_INTEGER
  )) {
    throw new RangeError(
      `${method}: ${current} + ${delta} leaves the safe integer range ±${Number.MAX_SAFE_INTEGER}`,
    );
  }
  return next;
}
