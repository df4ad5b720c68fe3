/**
 * A write's fingerprint: what a cluster's compare-and-set compares. A node's version is its own
 * counter, so the same write has a different version on each replica, and one node may give
 * another write the very number a stale read got from a replica. The fingerprint is the same on
 * every replica holding the write (it is made of the write's stamp, flags and bytes, which copies
 * carry unchanged) and differs, but for a 2^-52 chance, for any other write — also one stamped
 * alike by another clock, unless it stored the same flags and bytes.
 */
import { createHash } from 'node:crypto';

/** Fingerprints are integers from 0 to 2^52 − 1 (safe integers, exact in JSON and msgpack). */
export const FINGERPRINT_BITS = 52;

const header = Buffer.alloc(12);

/** The fingerprint of the write stamped `stamp` that stored `bytes` with `flags`. */
export function writeFingerprint(stamp: number, flags: number, bytes: Uint8Array): number {
  // The stamp (a safe integer) as a double and the flags as 32 bits: fixed widths, so no two
  // different (stamp, flags, bytes) hash the same input.
  header.writeDoubleBE(stamp, 0);
  header.writeUInt32BE(flags >>> 0, 8);
  const digest = createHash('sha256').update(header).update(bytes).digest();
  // The first 52 bits: 6 whole bytes, then the high half of the seventh.
  return digest.readUIntBE(0, 6) * 16 + (digest[6]! >>> 4);
}
