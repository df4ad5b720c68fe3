/**
 * The slot store: where entries live. An entry is a slot index into parallel arrays — its key (in
 * the key index), value, accounted size and version — and a place in the recency list, as in
 * lru-cache. Optional per-slot columns (expiry times, access records) attach to the store and grow
 * with it, so a cache pays only for the features it uses. Everything starts small and doubles with
 * use. The store knows nothing of limits, TTLs or notifications: the cache decides what to evict.
 */
import { KeyIndex, NONE } from './key-index.js';
import { LruList, grown } from './lru-list.js';

export { NONE };

/** A per-slot typed array that grows and resets with the store. */
export interface Column {
  grow(capacity: number): void;
  reset(capacity: number): void;
}

export class SlotStore<V> {
  readonly #maxSlots: number;
  readonly #wideSizes: boolean;
  readonly #columns: Column[] = [];
  readonly index: KeyIndex;
  list: LruList;
  values: (V | undefined)[] = [];
  /** Accounted bytes per slot. Uint32 when the limit fits in 32 bits (no entry can exceed it). */
  sizes: Uint32Array | Float64Array;
  versions: Float64Array;
  /** Accounted bytes of every entry held. */
  memoryUsed = 0;

  constructor(maxSlots: number, maxMemory: number) {
    this.#maxSlots = maxSlots;
    this.#wideSizes = maxMemory > 0xffff_ffff;
    this.list = new LruList(maxSlots);
    this.index = new KeyIndex(this.list.capacity);
    this.sizes = this.#newSizes(this.list.capacity);
    this.versions = new Float64Array(this.list.capacity);
  }

  /** Entries held. */
  get size(): number {
    return this.index.size;
  }

  get capacity(): number {
    return this.list.capacity;
  }

  /** Adds a column, sized to the store's current capacity by the caller. */
  attach(column: Column): void {
    this.#columns.push(column);
  }

  /** The slot of `key`, or NONE. */
  slotOf(key: string): number {
    return this.index.slotOf(key);
  }

  keyAt(slot: number): string {
    return this.index.keys[slot]!;
  }

  /** Stores a new entry as most recently used and returns its slot; the caller made room. */
  insert(key: string, value: V, size: number, version: number): number {
    const slot = this.#allocate();
    if (slot === this.values.length) this.values.push(value);
    else this.values[slot] = value;
    this.sizes[slot] = size;
    this.versions[slot] = version;
    this.memoryUsed += size;
    this.list.pushHead(slot);
    this.index.insert(key, slot);
    return slot;
  }

  /** Rewrites the entry in `slot` and makes it most recently used; returns the old value. */
  overwrite(slot: number, value: V, size: number, version: number): V {
    const old = this.values[slot] as V;
    this.values[slot] = value;
    this.memoryUsed += size - this.sizes[slot]!;
    this.sizes[slot] = size;
    this.versions[slot] = version;
    this.list.moveToHead(slot);
    return old;
  }

  /** Frees `slot`; the caller read its key and value first if it needs them. */
  remove(slot: number): void {
    this.index.remove(slot);
    this.list.release(slot);
    this.memoryUsed -= this.sizes[slot]!;
    this.values[slot] = undefined;
  }

  /** Drops every entry and releases the storage. */
  clear(): void {
    this.list = new LruList(this.#maxSlots);
    this.index.clear(this.list.capacity);
    this.values = [];
    this.sizes = this.#newSizes(this.list.capacity);
    this.versions = new Float64Array(this.list.capacity);
    this.memoryUsed = 0;
    for (const column of this.#columns) column.reset(this.list.capacity);
  }

  #allocate(): number {
    const list = this.list;
    const before = list.capacity;
    const slot = list.allocate();
    const capacity = list.capacity;
    if (capacity !== before) {
      this.index.grow(capacity);
      this.sizes = grown(this.sizes, capacity);
      this.versions = grown(this.versions, capacity);
      for (const column of this.#columns) column.grow(capacity);
    }
    return slot;
  }

  #newSizes(capacity: number): Uint32Array | Float64Array {
    return this.#wideSizes ? new Float64Array(capacity) : new Uint32Array(capacity);
  }
}
