import { Packr } from 'msgpackr';

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
 * Dates use the standard timestamp extension; Uint8Array is msgpack bin.
 */
const valuePackr = new Packr({
  useRecords: true,
  mapsAsObjects: false,
  useBigIntExtension: true,
  int64AsType: 'bigint',
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
  return { bytes: valuePackr.pack(value), flags: FLAGS_MSGPACK };
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
