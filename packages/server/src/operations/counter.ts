import type { CacheEntry } from '@dcache/core';
import { parseUint64 } from '../memcached/numbers.js';
import { writtenAt } from '../replication/replica-order.js';
import { storedValue } from './stored-value.js';
import type { StoredValue } from './stored-value.js';

/**
 * The node's one counter arithmetic, for HTTP `incr`/`decr`, the batch's `incr` and memcached's
 * `incr`/`decr`/`ma`, so a counter holds the same bytes whichever door changed it: the value is
 * the ASCII decimal of a 64-bit unsigned integer, read with memcached's rules (leading whitespace
 * allowed, anything after the digits must start with whitespace); incr wraps at 2^64, decr floors
 * at 0. When the new number is shorter than the stored bytes memcached rewrites the item in place
 * and pads with spaces ("100" decr 1 reads back as "99 "); those exact bytes are kept, so a later
 * `get` matches memcached's byte for byte.
 */

const MASK_64 = (1n << 64n) - 1n;

export interface CounterResult {
  /** The number held before. */
  previous: bigint;
  /** The new number. */
  value: bigint;
  /** The new number as ASCII digits (what incr/decr and `ma v` reply with). */
  digits: string;
  /** The bytes to store (digits, space-padded to the old length when shorter). */
  bytes: Uint8Array;
}

/**
 * Adds `delta` (incr) or subtracts it (decr) from the counter held in `stored`; undefined when
 * those bytes are not a number memcached would accept.
 */
export function applyDelta(
  stored: Uint8Array,
  delta: bigint,
  increment: boolean,
): CounterResult | undefined {
  if (stored.length === 0) return undefined;
  const current = parseUint64(stored, 0, stored.length);
  if (current === undefined) return undefined;
  let next: bigint;
  if (increment) next = (current + delta) & MASK_64;
  else next = delta > current ? 0n : current - delta;
  const digits = next.toString();
  return { previous: current, value: next, digits, bytes: encodeCounter(digits, stored.length) };
}

/** Digits padded with spaces to `minLength` when they fit in place, as memcached stores them. */
export function encodeCounter(digits: string, minLength: number): Uint8Array {
  const length = digits.length <= minLength ? minLength : digits.length;
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = i < digits.length ? digits.charCodeAt(i) : 0x20;
  return bytes;
}

/**
 * The TTL that keeps an entry's remaining lifetime when a read-modify-write (incr, decr, a
 * verification) stores it again: 0 (none) when it has none, else at least 1 ms, so "about to
 * expire" never becomes "never".
 */
export function keptTtl(entry: CacheEntry<StoredValue>): number {
  if (entry.ttl === undefined) return 0;
  return entry.ttl > 1 ? entry.ttl : 1;
}

/**
 * The value a count stores in place of `held`: the new bytes under the flags held, still counted
 * from the write `held` counted from (`countedFrom`). Every door's incr and decr build it here: a
 * count is no write, so an ordered incr issued after that write and delivered after this count
 * still counts (operations/incr.ts), whichever door made this one.
 */
export function countedValue(held: StoredValue, bytes: Uint8Array): StoredValue {
  const value = storedValue(bytes, held.flags);
  value.countedFrom = writtenAt(held);
  return value;
}
