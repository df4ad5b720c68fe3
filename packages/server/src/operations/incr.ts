import { HttpError } from '../errors/http-error.js';
import { applyDelta, countedValue, keptTtl } from './counter.js';
import { orThrow, Refused } from './refusal.js';
import { stampOf, writtenAt } from '../replication/replica-order.js';
import type { ReplicaStore } from '../replication/replica-store.js';
import { FLAGS_JSON, FLAGS_MSGPACK, storedValue } from './stored-value.js';

/** memcached counters are unsigned 64-bit. */
const MAX_COUNTER = 2n ** 64n - 1n;
const DIGITS = /^\d{1,20}$/;
const DELTA = /^-?\d{1,20}$/;
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

/** A counter created by an incr that missed: its first value, and its TTL (undefined = default). */
export interface CounterSeed {
  initial: bigint;
  ttl: number | undefined;
}

/**
 * What an incr creates when the counter is missing: nothing without `initial`. A TTL alone is
 * refused (400 bad_ttl): it would read as "incr and set the TTL", which incr never does.
 */
export function counterSeed(
  initial: bigint | undefined,
  ttl: number | undefined,
): CounterSeed | undefined | Refused {
  if (initial !== undefined) return { initial, ttl };
  if (ttl === undefined) return undefined;
  return new Refused(
    400,
    'bad_ttl',
    'an incr ttl applies only to a counter it creates: give initial too',
  );
}

const NOT_A_NUMBER = new Refused(
  400,
  'not_a_number',
  'the value at this key is not an unsigned 64-bit decimal integer',
);
/** The usual surprise: a string like "5" set through @dcache/client is stored as msgpack. */
const NOT_A_NUMBER_MSGPACK = new Refused(
  400,
  'not_a_number',
  'the value at this key is msgpack (flags 256), not decimal text: counters count on text such as "41"; store the number itself (set(key, 41) in @dcache/client, or text/plain over HTTP)',
);

/** `initial` from a query string: an unsigned 64-bit decimal. */
export function parseInitial(input: string): bigint {
  const initial = DIGITS.test(input) ? BigInt(input) : undefined;
  if (initial === undefined || initial > MAX_COUNTER) {
    return orThrow<bigint>(badInitial(JSON.stringify(input)));
  }
  return initial;
}

/** `initial` from a batch: a whole number or a bigint from 0 to 2^64-1. */
export function checkInitial(value: unknown): bigint | Refused {
  if (typeof value === 'bigint' && value >= 0n && value <= MAX_COUNTER) return value;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return BigInt(value);
  return badInitial(typeof value === 'bigint' ? value.toString() : String(value));
}

function badInitial(shown: string): Refused {
  return new Refused(
    400,
    'bad_initial',
    `initial must be an unsigned 64-bit integer (0 to 2^64-1), got ${shown}`,
  );
}

/**
 * Adds `delta` to the counter at `key` (a negative delta subtracts) with the node's one counter
 * arithmetic (operations/counter.ts), the bytes memcached's incr/decr store: an unsigned 64-bit
 * ASCII decimal (under any flags but msgpack's), wrapping past 2^64-1 and stopping at 0, a shorter
 * number padded with spaces in place. The flags and the remaining TTL are kept. Returns the new
 * value, or undefined when the key is absent or unverified (memcached's NOT_FOUND; we do not start
 * at 0 as Redis does) — unless a `seed` says what to create. Read and write happen in one
 * synchronous step, so no other request can interleave: the update is atomic. Throws 413 when the
 * longer number no longer fits the node's memory limit; the counter then keeps its old value.
 */
export function increment(
  replicas: ReplicaStore,
  key: string,
  delta: bigint,
  seed?: CounterSeed,
  stamp?: number,
): Counted | undefined {
  return orThrow(count(replicas, key, delta, seed, stamp));
}

/** {@link increment}, answering a value that is not a counter as a refusal (the batch's way). */
export function count(
  replicas: ReplicaStore,
  key: string,
  delta: bigint,
  seed?: CounterSeed,
  stamp?: number,
  ordered = false,
): Counted | undefined | Refused {
  const entry = replicas.peekStored(key);
  // An unverified count is never counted on: a peer may have replaced it, and a count made on it
  // would pass the stale value off as current. Unseeded, that is a miss (staleReadsPrevented).
  if (entry !== undefined && seed === undefined && replicas.refuseUnverified(entry)) {
    return undefined;
  }
  // Seeded, the key is absent, as it is to add: created from the seed, stamped above the
  // unverified entry so that it wins over the other unverified copies everywhere. Refusing it
  // too would leave a counter whose copies are all unverified (a whole-cluster restart from
  // snapshots) neither countable nor creatable on any replica until its TTL ends.
  if (entry === undefined || !replicas.isVerified(entry)) {
    if (seed === undefined) return undefined;
    // Ordered, and stamped at or below the delete (its tombstone) or flush that left the key
    // absent, the incr was issued before it: delivered late, it would create the counter above
    // that delete on this replica alone, and read repair would spread it over the delete. It
    // creates nothing and answers the stamp that stands, superseded, as a set that lost does.
    const buriedAt = entry === undefined && ordered ? absentSince(replicas, key) : 0;
    if (stamp !== undefined && stamp <= buriedAt) {
      return { value: seed.initial, stamp: buriedAt, superseded: true };
    }
    return create(replicas, key, seed, stamp);
  }
  // msgpack bytes are not text: "41" there is two msgpack integers, and "42" written back under
  // the msgpack flags would be invalid msgpack. Every other flags' bytes may be decimal text.
  const counted =
    entry.value.flags === FLAGS_MSGPACK
      ? undefined
      : applyDelta(entry.value.bytes, delta < 0n ? -delta : delta, delta >= 0n);
  if (counted === undefined) {
    return entry.value.flags === FLAGS_MSGPACK ? NOT_A_NUMBER_MSGPACK : NOT_A_NUMBER;
  }
  // Stamped (by a client) at or below the write this count starts from, the incr was issued before
  // that write: delivered late — its replica paused or cut off when it was sent, and the write got
  // there first — it would count on the write there alone, stamped above it, while a replica it
  // reached before the write holds the write as it was; read repair would then spread the count
  // over a write made after it. It counts nothing: the value and stamp that stand, superseded, as
  // a set that lost. Another incr's count is no such write: incrs add up in any order.
  const countedFrom = writtenAt(entry.value);
  // Only for a client that asks (`ordered`): one before it reads any 200 as a count, so a count
  // refused to it would be a count lost, with the stored value answered as its result.
  if (ordered && stamp !== undefined && stamp <= countedFrom) {
    return { value: counted.previous, stamp: stampOf(entry.value), superseded: true };
  }
  // A read-modify-write: stamped above the count it read, so the newer count wins everywhere.
  const value = countedValue(entry.value, counted.bytes);
  const written = replicas.rewrite(key, value, keptTtl(entry), stamp);
  return { value: counted.value, stamp: written.stamp };
}

/** The stamp of the delete (its tombstone) or flush a key absent here is absent since; 0: none. */
function absentSince(replicas: ReplicaStore, key: string): number {
  const raw = replicas.peekRaw(key);
  const buried = raw?.value.tombstone === true ? stampOf(raw.value) : 0;
  return Math.max(buried, replicas.flushStamp);
}

/** An incr's outcome: the counter's new value and the stamp it was written with. */
export interface Counted {
  value: bigint;
  stamp: number;
  /**
   * Counted nothing: the incr was stamped at or below the write the count starts from (issued
   * before it); `value` and `stamp` are the entry's, which stands. Or, seeded, at or below the
   * delete or flush the key is absent since: it created nothing, `value` is the seed's and
   * `stamp` the delete's or flush's.
   */
  superseded?: true;
}

/**
 * A missing (or unverified) counter with a seed is created holding `initial`, returned as is
 * (memcached's `ma N J` and memjs' `initial` option: the delta is not added). Stored as JSON
 * (flags 2) — a decimal is a JSON number — so that it reads back as a number over HTTP and through
 * @dcache/client. Stamped above whatever the key held (ReplicaStore.rewrite).
 */
function create(
  replicas: ReplicaStore,
  key: string,
  seed: CounterSeed,
  stamp: number | undefined,
): Counted {
  const bytes = asciiEncoder.encode(seed.initial.toString());
  const written = replicas.rewrite(key, storedValue(bytes, FLAGS_JSON), seed.ttl, stamp);
  return { value: seed.initial, stamp: written.stamp };
}

/** A counter as a JSON/msgpack-friendly number when exact, else the bigint itself. */
export function counterValue(value: bigint): number | bigint {
  return value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
}
