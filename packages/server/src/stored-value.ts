/**
 * What a node keeps per key: raw bytes plus memcached's 32-bit client flags. Both front doors
 * (HTTP and the memcached protocol) read and write this same record, so a value written over one
 * is readable over the other. The HTTP encoding is derived from the flags (see docs/wire-protocol.md).
 */
export interface StoredValue {
  readonly bytes: Uint8Array;
  /** memcached client flags, an unsigned 32-bit integer. */
  readonly flags: number;
}

/** Flags that name an HTTP encoding. Values chosen to match common memcached client conventions. */
export const FLAGS_OCTET_STREAM = 0;
/** Equals the `memcached` npm client's FLAG_JSON, so that client parses JSON written over HTTP. */
export const FLAGS_JSON = 2;
/** Equals pymemcache's FLAG_TEXT. */
export const FLAGS_TEXT = 16;
export const FLAGS_MSGPACK = 256;
