/**
 * What a node keeps per key: raw bytes plus memcached's 32-bit client flags. Both front doors
 * (HTTP and the memcached protocol) read and write this same record, so a value written over one
 * is readable over the other. The HTTP encoding is derived from the flags (see docs/wire-protocol.md).
 */
export interface StoredValue {
  readonly bytes: Uint8Array;
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
 * A value as a door hands it to the store, not stamped yet (the store stamps it in place). The
 * stamp is in the literal, in a snapshot's order (bytes, flags, stamp), so that every value held
 * has the one layout: added later, it would be stored outside the object — one more dependent
 * load on every read of a value — and values of two layouts make each read site polymorphic.
 */
export function storedValue(bytes: Uint8Array, flags: number): StoredValue {
  return { bytes, flags, stamp: 0 };
}

/** Flags that name an HTTP encoding. Values chosen to match common memcached client conventions. */
export const FLAGS_OCTET_STREAM = 0;
/** Equals the `memcached` npm client's FLAG_JSON, so that client parses JSON written over HTTP. */
export const FLAGS_JSON = 2;
/** Equals pymemcache's FLAG_TEXT. */
export const FLAGS_TEXT = 16;
export const FLAGS_MSGPACK = 256;
