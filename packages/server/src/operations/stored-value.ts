import { Buffer } from 'node:buffer';

/**
 * What a node keeps per key: raw bytes plus memcached's 32-bit client flags. Both front doors
 * (HTTP and the memcached protocol) read and write this same record, so a value written over one
 * is readable over the other. The HTTP encoding is derived from the flags (see docs/wire-protocol.md).
 */
export interface StoredValue {
  /**
   * The value's bytes. A value held as a string (`data`) makes them anew at each read: the hot
   * paths read `data` instead (valueData).
   */
  readonly bytes: Uint8Array;
  /**
   * The bytes as a one-byte string, one character per byte, on every value storedValue() builds
   * up to STRING_VALUE_MAX_BYTES. A string is one object on V8's heap, made and freed by the
   * collector with no `ArrayBuffer` and no `malloc`'d store behind it: holding a 100-byte value so
   * costs ~0.04 µs against ~0.55, and serving it one object where a `Uint8Array` is three
   * (`bench/value-alloc.js`; docs/design/item-store.md §3a).
   */
  readonly data?: string;
  /** memcached client flags, an unsigned 32-bit integer. */
  readonly flags: number;
  /**
   * The write's cluster-comparable stamp (`HybridClock`, docs/design/never-stale.md §3): newest
   * wins between replicas. Set by `ReplicaStore` when it stores the value — in place, so the
   * object a door built is the one stored (the memcached port keys its marks by it). Absent only
   * on a value not yet stored; 0 on one loaded from a version-1 snapshot (older than any write).
   */
  stamp?: number;
  /**
   * On a write an incr or touch restamped: the stamp of the write itself (the set, copy or
   * creation every incr since has counted on), which incrs and touches keep: one that finds it
   * absent sets it to the stamp it replaces (a touch in place). Absent: the entry's own stamp. A
   * client-stamped incr at or below it was issued before that write and counts nothing
   * (operations/incr.ts). A stand-in drops its copy by the write it stood in for, not by the incrs
   * and touches since, which may be all it stood in for: the write itself it may hold as a natural
   * replica (ReplicaStore.standInWrite). Not kept by snapshots or copies, where the entry's own
   * stamp stands in for it.
   */
  countedFrom?: number;
  /** A delete's record (bytes empty): reads miss, but its stamp still beats older copies. */
  readonly tombstone?: true;
}

/**
 * Values up to this many bytes are held as strings (`data`); larger ones keep their bytes, which
 * the memcached port passes to the socket by reference from here on (reply-writer.ts) and whose
 * own `ArrayBuffer` costs little beside them.
 */
export const STRING_VALUE_MAX_BYTES = 4 * 1024;

/**
 * A value as storedValue() builds it. Every field is declared, so every value held has the one
 * layout: a field added later would be stored outside the object — one more dependent load on
 * every read of a value — and values of two layouts make each read site polymorphic.
 */
class HeldValue implements StoredValue {
  readonly data: string | undefined;
  readonly #bytes: Uint8Array | undefined;
  readonly flags: number;
  stamp?: number = 0;
  countedFrom?: number;
  readonly tombstone?: true;

  constructor(bytes: Uint8Array | string, flags: number, tombstone: boolean) {
    if (typeof bytes === 'string') this.data = bytes;
    else if (bytes.length <= STRING_VALUE_MAX_BYTES) this.data = latin1(bytes);
    else this.#bytes = bytes;
    this.flags = flags;
    if (tombstone) this.tombstone = true;
  }

  get bytes(): Uint8Array {
    const { data } = this;
    if (data === undefined) return this.#bytes!;
    // A plain Uint8Array, as every other door's values are.
    const bytes = new Uint8Array(data.length);
    writeLatin1(bytes, data, 0);
    return bytes;
  }
}

function latin1(bytes: Uint8Array): string {
  return latin1Slice.call(bytes, 0, bytes.length);
}

const latin1Slice = (
  Buffer.prototype as unknown as {
    latin1Slice(this: Uint8Array, start: number, end: number): string;
  }
).latin1Slice;

/**
 * A copy of `source[start, end)` as a value is held: a one-byte string up to
 * STRING_VALUE_MAX_BYTES, else bytes of its own. What a door makes of a value's bytes in a request
 * it reads (the buffer is reused, and a held value must not pin it).
 */
export function heldCopy(source: Uint8Array, start: number, end: number): string | Uint8Array {
  if (end - start <= STRING_VALUE_MAX_BYTES) return latin1Slice.call(source, start, end);
  // Uint8Array's slice, a copy: on a Buffer `slice` is a view of the reused buffer.
  return Uint8Array.prototype.slice.call(source, start, end);
}

/**
 * A value as a door hands it to the store, not stamped yet (the store stamps it in place). `bytes`
 * as a string holds one character per byte (a bin the batch reader read as latin1).
 */
export function storedValue(bytes: Uint8Array | string, flags: number): StoredValue {
  return new HeldValue(bytes, flags, false);
}

/** A delete's record, stamped `stamp`: no bytes, and it beats older copies. */
export function tombstoneValue(stamp: number): StoredValue {
  const value = new HeldValue('', 0, true);
  value.stamp = stamp;
  return value;
}

/** The value's bytes as held: the string (`data`) where there is one, else the bytes. */
export function valueData(value: StoredValue): string | Uint8Array {
  return value.data ?? value.bytes;
}

/** How many bytes the value holds, without making them. */
export function valueLength(value: StoredValue): number {
  return (value.data ?? value.bytes).length;
}

/** Flags that name an HTTP encoding. Values chosen to match common memcached client conventions. */
export const FLAGS_OCTET_STREAM = 0;
/** Equals the `memcached` npm client's FLAG_JSON, so that client parses JSON written over HTTP. */
export const FLAGS_JSON = 2;
/** Equals pymemcache's FLAG_TEXT. */
export const FLAGS_TEXT = 16;
export const FLAGS_MSGPACK = 256;

const latin1Write = (
  Buffer.prototype as unknown as { latin1Write(this: Uint8Array, text: string, at: number): number }
).latin1Write;

/**
 * Writes a one-byte string's characters into `target` at `at` as bytes: `Buffer#latin1Write`, the
 * method `buf.write(text, at, 'latin1')` ends in (on Node 20, 22 and 24; @types/node leaves it out),
 * without that call's argument handling.
 */
export function writeLatin1(target: Uint8Array, text: string, at: number): number {
  return latin1Write.call(target, text, at);
}
