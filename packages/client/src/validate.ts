// Argument checks for the public methods: they run before anything is encoded or sent.
import { FINGERPRINT_BITS } from '@dcache/core';

export function assertKey(key: unknown, name = 'key'): asserts key is string {
  if (typeof key !== 'string') throw new TypeError(`${name} must be a string, got ${typeof key}`);
  if (key === '') throw new RangeError(`${name} must not be empty`);
  assertWellFormed(key, name);
}

/**
 * Keys travel as UTF-8, where a lone UTF-16 surrogate has no form: encoders write U+FFFD in its
 * place, so '\ud800' and '\udbff' would be one key on the nodes, each overwriting the other.
 */
export function assertWellFormed(text: string, name: string): void {
  if (!isWellFormed(text)) {
    throw new RangeError(
      `${name} must be well-formed Unicode: it holds a lone surrogate, which has no UTF-8 form`,
    );
  }
}

/** The text holds no lone UTF-16 surrogate, so it has a UTF-8 form. */
export function isWellFormed(text: string): boolean {
  // ES2024's String#isWellFormed (Node ≥ 20), not in this project's TypeScript lib yet; on the
  // one-byte strings most keys and values are it answers without reading them.
  return (text as unknown as { isWellFormed(): boolean }).isWellFormed();
}

export function assertValue(value: unknown, name = 'value'): void {
  if (value === undefined) throw new TypeError(`${name} must not be undefined (use delete)`);
  if (typeof value === 'function' || typeof value === 'symbol') {
    throw new TypeError(`${name} of type ${typeof value} cannot be stored`);
  }
}

/** The longest TTL a node accepts (2^53−1 ms, any whole number a double holds exactly). */
export const MAX_TTL_MS = Number.MAX_SAFE_INTEGER;

/** TTL in milliseconds: undefined = the node's default, 0 = never expires. Returns the wire value. */
export function ttlOption(options: unknown): number | null {
  if (options === undefined) return null;
  if (typeof options !== 'object' || options === null) {
    throw new TypeError('options must be an object like { ttl }');
  }
  const ttl = (options as { ttl?: unknown }).ttl;
  if (ttl === undefined) return null;
  assertTtl(ttl);
  return ttl;
}

/** A TTL in milliseconds, given explicitly: 0 = never expires. */
export function assertTtl(ttl: unknown): asserts ttl is number {
  if (typeof ttl !== 'number')
    throw new TypeError(`ttl must be a number of milliseconds, got ${typeof ttl}`);
  if (!Number.isSafeInteger(ttl) || ttl < 0 || ttl > MAX_TTL_MS) {
    throw new RangeError(
      `ttl must be an integer from 0 (never expires) to ${MAX_TTL_MS} milliseconds, got ${ttl}`,
    );
  }
}

export function assertDelta(delta: unknown): asserts delta is number {
  if (typeof delta !== 'number') throw new TypeError(`delta must be a number, got ${typeof delta}`);
  if (!Number.isSafeInteger(delta) || delta < 0) {
    // Past 2^53−1 a number is no longer exact: say so, or 2^60 reads as "not a non-negative integer".
    throw new RangeError(
      `delta must be a whole number from 0 to ${Number.MAX_SAFE_INTEGER}, got ${delta}${delta < 0 ? ' (decr subtracts)' : ''}`,
    );
  }
}

export function assertVersion(version: unknown): asserts version is number {
  if (typeof version !== 'number') {
    throw new TypeError(`version must be a number from getVersioned, got ${typeof version}`);
  }
  // A version is a write's fingerprint: anything beyond its bits names no write (and would not
  // travel as the wire's −(version + 1) exactly).
  if (!Number.isSafeInteger(version) || version < 0 || version >= 2 ** FINGERPRINT_BITS) {
    throw new RangeError(
      `version must be an integer from 0 to 2^${FINGERPRINT_BITS} - 1 (from getVersioned), got ${version}`,
    );
  }
}

/** incr/decr's `{ initial, ttl }` as the wire's seed: `initial` null when absent (no creation). */
export function incrOptions(options: unknown): { initial: number | null; ttl: number | null } {
  const ttl = ttlOption(options);
  const initial = (options as { initial?: unknown } | undefined)?.initial;
  if (initial === undefined) {
    if (ttl !== null) {
      throw new TypeError('incr/decr: ttl applies only to a counter they create; give initial too');
    }
    return { initial: null, ttl: null };
  }
  if (typeof initial !== 'number') {
    throw new TypeError(`initial must be a number, got ${typeof initial}`);
  }
  if (!Number.isSafeInteger(initial) || initial < 0) {
    throw new RangeError(
      `initial must be a whole number from 0 to ${Number.MAX_SAFE_INTEGER}, got ${initial}`,
    );
  }
  return { initial, ttl };
}
