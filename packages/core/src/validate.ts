/**
 * Argument checks shared by every public method. They run before any state changes, so a bad
 * call throws and leaves the cache exactly as it was.
 */
import type { SetOptions } from './types.js';

export function assertKey(key: unknown, method: string): asserts key is string {
  if (typeof key !== 'string') {
    throw new TypeError(`${method}: key must be a string, got ${describe(key)}`);
  }
}

/** A TTL in milliseconds: a finite number ≥ 0 (0 = never expire). */
export function assertTtl(ttl: unknown, where: string): asserts ttl is number {
  if (typeof ttl !== 'number') {
    throw new TypeError(`${where}: ttl must be a number of milliseconds, got ${describe(ttl)}`);
  }
  if (!Number.isFinite(ttl) || ttl < 0) {
    throw new RangeError(
      `${where}: ttl must be a finite number of milliseconds ≥ 0 (0 = never expire), got ${ttl}`,
    );
  }
}

/** Resolves `{ ttl }` of a write to a TTL in ms; without one, the cache's default applies. */
export function resolveTtl(
  options: SetOptions | undefined,
  defaultTtl: number,
  method: string,
): number {
  if (options === undefined) return defaultTtl;
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`${method}: options must be an object, got ${describe(options)}`);
  }
  const ttl = options.ttl;
  if (ttl === undefined) return defaultTtl;
  assertTtl(ttl, method);
  return ttl;
}

export function assertFunction(
  fn: unknown,
  what: string,
): asserts fn is (...args: never[]) => unknown {
  if (typeof fn !== 'function') {
    throw new TypeError(`${what} must be a function, got ${describe(fn)}`);
  }
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string')
    return `string "${value.length > 40 ? value.slice(0, 40) + '…' : value}"`;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
    return `${typeof value} ${String(value)}`;
  }
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

/** `options.keepAccess` of a write, validated (false when absent). */
export function keepAccessOf(options: SetOptions | undefined, method: string): boolean {
  const keep = options?.keepAccess;
  if (keep === undefined) return false;
  if (typeof keep !== 'boolean') {
    throw new TypeError(`${method}: keepAccess must be a boolean, got ${describe(keep)}`);
  }
  return keep;
}
