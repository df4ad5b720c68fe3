import { Buffer } from 'node:buffer';
import { Packr } from 'msgpackr';
import { isWellFormed } from './validate.js';

/** memcached-style client flags that name a value's encoding (docs/wire-protocol.md). */
export const FLAGS_OCTET_STREAM = 0;
export const FLAGS_JSON = 2;
export const FLAGS_TEXT = 16;
export const FLAGS_MSGPACK = 256;

/**
 * Chosen so every supported type round-trips exactly:
 * - `useRecords: true` writes plain objects as msgpackr records, so they come back as objects,
 *   while `mapsAsObjects: false` reads real msgpack maps (what a `Map` is written as) back as Maps.
 *   With msgpackr's compatibility defaults both become maps and one of the two types is lost.
 * - `useBigIntExtension` keeps bigints beyond 64 bits (the default throws a RangeError) and
 *   `int64AsType: 'bigint'` reads 64-bit ints back as the bigints they were written from (numbers
 *   beyond 32 bits are written as float64, so they stay numbers).
 * - `moreTypes` writes every other typed array, `DataView`, `ArrayBuffer`, `Set`, `Error` and
 *   `RegExp` as msgpackr's extensions for them, which read back as the same type. Without it
 *   msgpackr writes a Float32Array as a bin of its byte length but copies one byte per element,
 *   so the rest of the bin is whatever its buffer held before (another value's bytes), and Sets,
 *   Errors and RegExps come back as arrays.
 * Dates use the standard timestamp extension. A Uint8Array value is msgpack bin (moreTypes would
 * make it an extension too; see encodeValue); one nested in another value is the extension.
 */
const valuePackr = new Packr({
  useRecords: true,
  mapsAsObjects: false,
  useBigIntExtension: true,
  int64AsType: 'bigint',
  moreTypes: true,
  // A bin read back is the caller's to keep: as a view it would pin the whole batch answer it
  // came in (megabytes, for a few bytes of value) for as long as the caller holds it.
  copyBuffers: true,
});

const utf8 = new TextDecoder();

export interface EncodedValue {
  bytes: Uint8Array;
  flags: number;
}

const ascii = new TextEncoder();

/**
 * msgpack with flags 256, except whole numbers ≥ 0: those are stored as their decimal text with
 * the JSON flags, which is exactly what a node's incr/decr (memcached counters) work on, and
 * still reads back as the same number. A top-level -0 is stored as the JSON text `-0` too:
 * msgpackr writes it as the integer 0.
 */
export function encodeValue(value: unknown): EncodedValue {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) {
    return { bytes: ascii.encode(Object.is(value, -0) ? '-0' : String(value)), flags: FLAGS_JSON };
  }
  // A lone UTF-16 surrogate has no UTF-8 form: msgpack's str would read back with U+FFFD (or
  // three) in its place. JSON escapes it (`"\ud800"`), and reads back the same string.
  if (typeof value === 'string' && !isWellFormed(value)) return jsonString(value);
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) assertKnownTypedArray(value);
  // msgpackr writes a Buffer as bin even with moreTypes: a view, so the bytes are copied once.
  const packed =
    value instanceof Uint8Array && value.constructor === Uint8Array
      ? Buffer.from(value.buffer, value.byteOffset, value.byteLength)
      : value;
  return { bytes: valuePackr.pack(packed), flags: FLAGS_MSGPACK };
}

/** A string as JSON text (ASCII escapes for what UTF-8 cannot carry), with the JSON flags. */
export function jsonString(value: string): EncodedValue {
  return { bytes: ascii.encode(JSON.stringify(value)), flags: FLAGS_JSON };
}

/** The typed arrays msgpackr's extension names (by constructor name), so reads them back. */
const KNOWN_TYPED_ARRAYS: ReadonlySet<string> = new Set([
  'Int8Array',
  'Uint8Array',
  'Uint8ClampedArray',
  'Int16Array',
  'Uint16Array',
  'Int32Array',
  'Uint32Array',
  'Float32Array',
  'Float64Array',
  'BigInt64Array',
  'BigUint64Array',
]);

/**
 * msgpackr writes any other typed array (a Float16Array, a subclass) with a type code no reader
 * knows: every later get of the key would throw. Refused here instead, as a value, before it is
 * sent (one nested in an object is msgpackr's to write; see the README's Values).
 */
function assertKnownTypedArray(value: ArrayBufferView): void {
  const name = value.constructor.name;
  if (value instanceof Buffer || KNOWN_TYPED_ARRAYS.has(name)) return;
  throw new TypeError(
    `cannot store a ${name}: msgpack values keep the standard typed arrays (Int8Array … BigUint64Array); copy it into one`,
  );
}

/**
 * Decodes stored bytes by their flags, so values written by curl or memcached clients read back
 * too: JSON → parsed, text → string, anything else → the raw bytes.
 */
export function decodeValue(bytes: Uint8Array, flags: number): unknown {
  switch (flags) {
    case FLAGS_MSGPACK:
      // A plain Uint8Array input (not a Buffer) makes msgpackr return bins as Uint8Array too.
      return valuePackr.unpack(bytes);
    case FLAGS_JSON:
      return JSON.parse(utf8.decode(bytes)) as unknown;
    case FLAGS_TEXT:
      return utf8.decode(bytes);
    default:
      // Copy: `bytes` is a view into a whole batch response that the caller should not pin.
      return Uint8Array.prototype.slice.call(bytes);
  }
}
