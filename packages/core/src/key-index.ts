/**
 * Which slot holds a key, and which key a slot holds: the cache's index, an open-addressing hash
 * table in one Int32Array instead of a `Map`.
 *
 * A `Map` entry costs ~37 bytes at 100k entries (a 24-byte key/value/chain record plus its share of
 * the buckets, in a table rounded up to a power of two) on top of the slot-to-key array the cache
 * needs anyway. Here an entry costs one 4-byte cell in the table (at most 80% full, so 5–10 bytes)
 * and its 4-byte hash, kept per slot so that removing and growing never hash a key again.
 *
 * A cell holds slot + 1 in its low 25 bits (0 = empty; a cache holds at most 2^24 entries) and the
 * top 7 bits of the key's hash, so a probe rejects almost every other key without reading it.
 * Collisions are resolved by linear probing (neighbouring cells share a cache line); a removal
 * shifts the rest of its run back instead of leaving a tombstone, so lookups never slow down with
 * churn. The hash is seeded per index, so which keys collide differs between caches and processes.
 */
import { grown } from './lru-list.js';

export const NONE = -1;

const SLOT_BITS = 0x01ff_ffff;
const TAG_BITS = ~SLOT_BITS;
const INITIAL_CELLS = 32;
/** Grow the table when it would be more than 80% full (then 40% after doubling). */
const MAX_LOAD = 0.8;

export class KeyIndex {
  /** Key per slot; undefined for a free slot. */
  keys: (string | undefined)[] = [];
  /** Hash of the key per slot. */
  #hashes: Int32Array;
  #cells = new Int32Array(INITIAL_CELLS);
  #mask = INITIAL_CELLS - 1;
  #size = 0;
  #growAt = Math.floor(INITIAL_CELLS * MAX_LOAD);
  readonly #seed: number;
  /** The last key looked up and its hash: a write looks its key up, then inserts it. */
  #lastKey = '';
  #lastHash: number;

  /** `seed` fixes the hash for tests; by default each index draws its own. */
  constructor(capacity: number, seed = (Math.random() * 0x1_0000_0000) | 0) {
    this.#hashes = new Int32Array(capacity);
    this.#seed = seed;
    this.#lastHash = this.#hash('');
  }

  get size(): number {
    return this.#size;
  }

  /** Follows the slot store's capacity. */
  grow(capacity: number): void {
    this.#hashes = grown(this.#hashes, capacity);
  }

  /** The slot of `key`, or NONE. */
  slotOf(key: string): number {
    const hash = this.#hash(key);
    this.#lastKey = key;
    this.#lastHash = hash;
    const tag = hash & TAG_BITS;
    const cells = this.#cells;
    const mask = this.#mask;
    const keys = this.keys;
    for (let i = hash & mask; ; i = (i + 1) & mask) {
      const cell = cells[i]!;
      if (cell === 0) return NONE;
      if ((cell & TAG_BITS) === tag) {
        const slot = (cell & SLOT_BITS) - 1;
        if (keys[slot] === key) return slot;
      }
    }
  }

  /** Records `key` in `slot`; the caller made sure the key is absent. */
  insert(key: string, slot: number): void {
    if (slot === this.keys.length) this.keys.push(key);
    else this.keys[slot] = key;
    if (this.#size >= this.#growAt) this.#rehash(this.#cells.length * 2);
    const hash = key === this.#lastKey ? this.#lastHash : this.#hash(key);
    this.#hashes[slot] = hash;
    this.#place(hash, slot);
    this.#size++;
  }

  /** Forgets the key of `slot` and returns it. */
  remove(slot: number): string {
    const key = this.keys[slot]!;
    this.keys[slot] = undefined;
    const cells = this.#cells;
    const mask = this.#mask;
    const hashes = this.#hashes;
    const want = slot + 1;
    let hole = hashes[slot]! & mask;
    while ((cells[hole]! & SLOT_BITS) !== want) hole = (hole + 1) & mask;
    // Backward shift: move each later entry of the run into the hole unless that would put it
    // before its home cell, so every entry stays reachable from its home without tombstones.
    for (let i = (hole + 1) & mask; ; i = (i + 1) & mask) {
      const cell = cells[i]!;
      if (cell === 0) break;
      const home = hashes[(cell & SLOT_BITS) - 1]! & mask;
      // The entry may move when its home is not cyclically within (hole, i].
      if (((i - home) & mask) >= ((i - hole) & mask)) {
        cells[hole] = cell;
        hole = i;
      }
    }
    cells[hole] = 0;
    this.#size--;
    return key;
  }

  clear(capacity: number): void {
    this.keys = [];
    this.#hashes = new Int32Array(capacity);
    this.#cells = new Int32Array(INITIAL_CELLS);
    this.#mask = INITIAL_CELLS - 1;
    this.#growAt = Math.floor(INITIAL_CELLS * MAX_LOAD);
    this.#size = 0;
  }

  #place(hash: number, slot: number): void {
    const cells = this.#cells;
    const mask = this.#mask;
    let i = hash & mask;
    while (cells[i] !== 0) i = (i + 1) & mask;
    cells[i] = (hash & TAG_BITS) | (slot + 1);
  }

  #rehash(length: number): void {
    const old = this.#cells;
    this.#cells = new Int32Array(length);
    this.#mask = length - 1;
    this.#growAt = Math.floor(length * MAX_LOAD);
    for (let i = 0; i < old.length; i++) {
      const cell = old[i]!;
      if (cell === 0) continue;
      const slot = (cell & SLOT_BITS) - 1;
      this.#place(this.#hashes[slot]!, slot);
    }
  }

  #hash(key: string): number {
    return keyHash(key, this.#seed);
  }
}

/**
 * A 32-bit hash of the key's UTF-16 units: a multiply-xor step per unit from a seed, then
 * murmur3's finaliser, so that the low bits (the home cell) depend on every unit. Exported for
 * the tests that build colliding keys against a fixed seed.
 */
export function keyHash(key: string, seed: number): number {
  let h = seed ^ key.length;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x0100_0193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85eb_ca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2_ae35);
  return h ^ (h >>> 16);
}
