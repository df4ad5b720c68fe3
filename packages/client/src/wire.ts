import { Packr } from 'msgpackr';

/**
 * A conditional write, as the client decides it: a number is a compare-and-set's version — the
 * fingerprint of the write it read (`writeFingerprint`), the same on every replica.
 */
export type SetCondition = null | 'add' | 'replace' | number;

/**
 * A set's `cond` on the wire (docs/wire-protocol.md): a fingerprint `f` travels as −(f + 1). A
 * non-negative number there is the node's own version, which another replica may give another
 * write; a node of an earlier release refuses a negative one (400 bad_op) rather than misread it.
 */
export function wireCondition(condition: SetCondition): SetCondition {
  return typeof condition === 'number' ? -(condition + 1) : condition;
}

/** Operations of `POST /v1/batch` (docs/wire-protocol.md). */
/** Why a node is sent a copy it did not ask for (counted by the node per origin). */
export type CopyOrigin = 'hint' | 'repair' | 'restore';
/**
 * Every write carries the client's stamp (its hybrid clock, docs/design/never-stale.md §3) as its
 * last element: nodes keep the newest stamp of a key, so a copy or a late delivery never
 * overwrites a newer write. `incr`'s stamp comes after its optional seed (`null`s when unseeded).
 */
export type BatchOp =
  | readonly ['get', string]
  | readonly ['get', string, number]
  // `true`: read after the key's primary did not answer, possibly stale (the node counts it).
  | readonly ['get', string, number | null, true]
  // A get-and-touch stamped by the client (`true`: unvouched, as above), so that one delivered
  // late does not outrank a write made meanwhile. Nodes before it stamp the touch themselves.
  | readonly ['get', string, number, true | null, number]
  | readonly ['set', string, Uint8Array, number, number | null, SetCondition, number]
  // An add carrying `since`: refused when the node holds anything, or flushed, after that stamp.
  | readonly ['set', string, Uint8Array, number, number | null, 'add', number, number]
  | readonly ['delete', string, number]
  | readonly ['touch', string, number, number]
  // `true` last: counted only above the write the count starts from, else answered superseded.
  | readonly ['incr', string, number, number | null, number | null, number, true]
  | readonly ['copy', string, Uint8Array, number, number, number, CopyOrigin]
  | readonly ['bury', string, number, CopyOrigin]
  | readonly ['verify', string, number]
  // A restore's: the node counts it as restored when it vouches (`restoredKeys`).
  | readonly ['verify', string, number, 'restore']
  | readonly ['hint', string, string, boolean]
  // A stand-in's hint naming the stamp of the write it took: it lets go of that copy only.
  | readonly ['hint', string, string, true, number]
  | readonly ['flush']
  // Stamped by the client (no delay): a node that gets it late refuses no write made after it.
  | readonly ['flush', null, number];

/** Each result starts with an HTTP-like status; the rest depends on the operation. */
export type BatchResult = readonly [number, ...unknown[]];

/**
 * Standard msgpack (no records) so any node implementation can read the envelope. Versions and
 * TTLs are numbers even if a node writes them as 64-bit ints: `int64AsType: 'auto'` (documented
 * in msgpackr's README, missing from its typings) keeps safe integers as numbers.
 */
const wireOptions = { useRecords: false, int64AsType: 'auto' };
const wirePackr = new Packr(wireOptions as ConstructorParameters<typeof Packr>[0]);

/**
 * An upper bound on the bytes `op` adds to an encoded batch (UTF-16 units take at most 3 UTF-8
 * bytes; 64 covers the op's name, the array and string headers and the numeric fields), so that
 * batches can be cut below a node's body limit without encoding first.
 */
export function estimatedBytes(op: BatchOp): number {
  if (op[0] === 'flush') return 24;
  // Hints also carry a URL, which 3 bytes per unit covers like the key's.
  const base = 3 * op[1].length + 64;
  if (op[0] === 'set' || op[0] === 'copy') return base + op[2].length;
  return op[0] === 'hint' ? base + 3 * op[2].length : base;
}

export function encodeBatch(ops: readonly BatchOp[]): Uint8Array {
  return wirePackr.pack(ops);
}

/** Returns undefined when the body is not an array of `count` results. */
export function decodeBatch(body: Uint8Array, count: number): BatchResult[] | undefined {
  const results: unknown = wirePackr.unpack(body);
  if (!Array.isArray(results) || results.length !== count) return undefined;
  for (const result of results) {
    if (!Array.isArray(result) || typeof result[0] !== 'number') return undefined;
  }
  return results as BatchResult[];
}
