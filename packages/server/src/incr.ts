import type { LruCache } from '@dcache/core';
import { HttpError } from './errors/http-error.js';
import { entryRefused } from './store.js';
import type { StoredValue } from './stored-value.js';
import { FLAGS_MSGPACK } from './stored-value.js';

/** memcached counters are unsigned 64-bit. */
const MAX_COUNTER = 2n ** 64n - 1n;
const WRAP = 2n ** 64n;
const DIGITS = /^\d{1,20}$/;
const DELTA = /^-?\d{1,20}$/;
const ascii = new TextDecoder('latin1');
const asciiEncoder = new TextEncoder();

/** A delta from a query string: an integer, possibly negative, of at most 64 bits. */
export function parseDelta(input: string | undefined): bigint {
  if (input === undefined) return 1n;
  const delta = DELTA.test(input) ? BigInt(input) : undefined;
  if (delta === undefined || delta > MAX_COUNTER || delta < -MAX_COUNTER) {
    throw new HttpError(
      400,
      'bad_delta',
      `delta must be an integer within ±(2^64-1), got ${JSON.stringify(input)}`,
    );
  }
  return delta;
}

/**
 * Adds `delta` to the ASCII decimal counter at `key`, as memcached's incr/decr do: the value is
 * an unsigned 64-bit decimal (under any flags but msgpack's); going past 2^64-1 wraps, going below 0 stops at 0. The flags and
 * the remaining TTL are kept. Returns the new value, or undefined when the key is absent (memcached's
 * NOT_FOUND; we do not start at 0 as Redis does). Read and write happen in one synchronous step, so
 * no other request can interleave: the update is atomic. Throws 413 when the longer number no
 * longer fits the node's memory limit; the counter then keeps its old value.
 */
export function increment(
  cache: LruCache<StoredValue>,
  key: string,
  delta: bigint,
): bigint | undefined {
  const entry = cache.peekEntry(key);
  if (entry === undefined) return undefined;
  // msgpack bytes are not text: "41" there is two msgpack integers, and "42" written back under
  // the msgpack flags would be invalid msgpack. Every other flags' bytes may be decimal text.
  const text = entry.value.flags === FLAGS_MSGPACK ? '' : ascii.decode(entry.value.bytes);
  const current = DIGITS.test(text) ? BigInt(text) : MAX_COUNTER + 1n;
  if (current > MAX_COUNTER) {
    throw new HttpError(
      400,
      'not_a_number',
      `the value at this key is not an unsigned 64-bit decimal integer`,
    );
  }
  let next = current + delta;
  if (next < 0n) next = 0n;
  else if (next > MAX_COUNTER) next %= WRAP;
  const bytes = asciiEncoder.encode(next.toString());
  // A remaining TTL keeps the same expiry; at least 1 ms so "about to expire" never becomes "never".
  const ttl = entry.ttl === undefined ? 0 : Math.max(1, entry.ttl);
  if (!cache.set(key, { bytes, flags: entry.value.flags }, { ttl })) throw entryRefused();
  return next;
}

/** A counter as a JSON/msgpack-friendly number when exact, else the bigint itself. */
export function counterValue(value: bigint): number | bigint {
  return value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
}
