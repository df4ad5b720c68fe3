import { writeFingerprint } from '@dcache/core';
import type { StoredValue } from '../operations/stored-value.js';

/** A stored value's stamp; 0 for one stored without (older than any stamped write). */
export function stampOf(value: StoredValue): number {
  return value.stamp ?? 0;
}

/**
 * The stamp of the write a value holds, before any incr or touch restamped it: the write a count
 * starts from (`countedFrom`), which touches keep too.
 */
export function writtenAt(value: StoredValue): number {
  return value.countedFrom ?? stampOf(value);
}

/** The fingerprint of the write a stored value is: the same on every replica holding it. */
export function fingerprintOf(value: StoredValue): number {
  return writeFingerprint(stampOf(value), value.flags, value.bytes);
}

/**
 * Which of two replicas of a key wins: positive when `a` is newer than `b`, 0 when they are the
 * same write. Stamps first; on a tie (two writes stamped alike by different clocks) a tombstone
 * wins, then the higher flags, then the greater bytes — an arbitrary order, but the same on every
 * node, so replicas that exchange copies converge on one value.
 */
export function compareReplicas(a: StoredValue, b: StoredValue): number {
  const stampA = stampOf(a);
  const stampB = stampOf(b);
  if (stampA !== stampB) return stampA > stampB ? 1 : -1;
  if (a.tombstone !== b.tombstone) return a.tombstone ? 1 : -1;
  if (a.flags !== b.flags) return a.flags > b.flags ? 1 : -1;
  return Buffer.compare(a.bytes, b.bytes);
}

/**
 * The stamp of the tombstone a write refused as too large leaves: one below its own, so it beats
 * every older value (a tie at that stamp too, as ties go to the tombstone) but never the same
 * write, which a replica with more room (a larger `--max-value-bytes` or memory) may have stored.
 */
export function belowStamp(stamp: number): number {
  return Math.max(0, stamp - 1);
}
