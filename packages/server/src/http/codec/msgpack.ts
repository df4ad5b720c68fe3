import { Packr } from 'msgpackr';
import type { Options } from 'msgpackr';

// msgpackr implements 'auto' (tested in batch.test.ts) but its types list only bigint/number/string.
const INT64_AUTO = 'auto' as unknown as Options['int64AsType'];

/**
 * Codec of `POST /v1/batch`. Chosen deliberately:
 * - `useRecords: false`: plain msgpack maps/arrays only, so any msgpack client can talk to us.
 * - `mapsAsObjects: true`: a batch holds arrays only, so maps appear only in hostile input; msgpackr
 *   then renames a `__proto__` key to `__proto_`, so no payload can reach a prototype.
 * - `copyBuffers: true`: a stored value must own its bytes, not pin the whole request body.
 * - `int64AsType: 'auto'`: Go, Rust and Java encoders often write ttl/flags/deltas as uint64/int64;
 *   those within ±2^53 decode as numbers like any other, larger ones as BigInt (deltas use them).
 * One instance, reused: msgpackr keeps its write buffer between calls.
 */
export const batchCodec = new Packr({
  useRecords: false,
  mapsAsObjects: true,
  copyBuffers: true,
  int64AsType: INT64_AUTO,
});

/**
 * Codec of stored msgpack values when converting them to/from JSON. Maps decode as `Map`
 * (`mapsAsObjects: false`) so every key, `__proto__` included, survives exactly and no object's
 * prototype is ever touched; `int64AsType: 'bigint'` keeps 64-bit integers exact.
 */
export const valueCodec = new Packr({
  useRecords: false,
  mapsAsObjects: false,
  variableMapSize: true, // fixmap for small objects, as other msgpack encoders write them
  int64AsType: 'bigint',
});
