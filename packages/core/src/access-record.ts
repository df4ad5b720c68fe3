/**
 * Per-slot access records for `trackAccess` (memcached's meta `h` and `l` flags): when the entry
 * was last read or written, and whether it has been read since it was written. A column attached
 * to the slot store only when the option is on.
 */
import { grown } from './lru-list.js';
import type { Column } from './slot-store.js';

export class AccessRecord implements Column {
  /** Clock reading of the last read or write per slot. */
  accessedAt: Float64Array;
  /** 1 when the slot's entry has been read since it was written. */
  readFlags: Uint8Array;

  constructor(capacity: number) {
    this.accessedAt = new Float64Array(capacity);
    this.readFlags = new Uint8Array(capacity);
  }

  grow(capacity: number): void {
    this.accessedAt = grown(this.accessedAt, capacity);
    this.readFlags = grown(this.readFlags, capacity);
  }

  reset(capacity: number): void {
    this.accessedAt = new Float64Array(capacity);
    this.readFlags = new Uint8Array(capacity);
  }

  noteRead(slot: number, now: number): void {
    this.accessedAt[slot] = now;
    this.readFlags[slot] = 1;
  }

  /** A write starts a fresh record: written now, not read since. */
  noteWrite(slot: number, now: number): void {
    this.accessedAt[slot] = now;
    this.readFlags[slot] = 0;
  }

  readSinceWrite(slot: number): boolean {
    return this.readFlags[slot] === 1;
  }

  /** Milliseconds since the last access; an injected clock may step back, an access is never in the future. */
  idleMs(slot: number, now: number): number {
    return Math.max(0, now - this.accessedAt[slot]!);
  }
}
