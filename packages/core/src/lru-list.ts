/**
 * The recency order: a doubly linked list threaded through slot indices held in one Int32Array,
 * as in lru-cache, so that promoting an entry rewires a few integers and allocates nothing. A
 * slot's next and prev links sit side by side (links[2s], links[2s + 1]), so unlinking a slot
 * touches one cache line for it instead of two. The array starts small and doubles when full
 * (never beyond `maxSlots`), so a cache sized for millions of entries that holds a few costs a
 * few. Freed slots are chained through their next link and reused first.
 */
const NONE = -1;
const INITIAL_SLOTS = 16;

export class LruList {
  #links: Int32Array;
  /** Most recently used slot, or -1 when empty. */
  head = NONE;
  /** Least recently used slot, or -1 when empty. */
  tail = NONE;
  /** Slots handed out at least once; slots ≥ this were never used. */
  used = 0;
  readonly maxSlots: number;
  #freeHead = NONE;

  constructor(maxSlots: number) {
    this.maxSlots = maxSlots;
    this.#links = new Int32Array(2 * Math.min(INITIAL_SLOTS, maxSlots));
  }

  get capacity(): number {
    return this.#links.length >> 1;
  }

  /** The slot used just less recently than `slot`, or -1 at the tail. */
  nextOf(slot: number): number {
    return this.#links[2 * slot]!;
  }

  /**
   * A free slot, linked nowhere yet. Grows the array when every slot is in use; the caller
   * compares `capacity` before and after to grow its own parallel arrays.
   */
  allocate(): number {
    const free = this.#freeHead;
    if (free !== NONE) {
      this.#freeHead = this.#links[2 * free]!;
      return free;
    }
    if (this.used === this.capacity) this.#grow();
    return this.used++;
  }

  /** Unlinks `slot` and puts it on the free list. */
  release(slot: number): void {
    this.unlink(slot);
    this.#links[2 * slot] = this.#freeHead;
    this.#freeHead = slot;
  }

  pushHead(slot: number): void {
    const links = this.#links;
    const head = this.head;
    links[2 * slot] = head;
    links[2 * slot + 1] = NONE;
    if (head === NONE) this.tail = slot;
    else links[2 * head + 1] = slot;
    this.head = slot;
  }

  moveToHead(slot: number): void {
    if (slot === this.head) return;
    this.unlink(slot);
    this.pushHead(slot);
  }

  unlink(slot: number): void {
    const links = this.#links;
    const next = links[2 * slot]!;
    const prev = links[2 * slot + 1]!;
    if (prev === NONE) this.head = next;
    else links[2 * prev] = next;
    if (next === NONE) this.tail = prev;
    else links[2 * next + 1] = prev;
  }

  #grow(): void {
    this.#links = grown(this.#links, 2 * Math.min(this.capacity * 2, this.maxSlots));
  }
}

/** A typed array of `capacity` elements holding the first elements of `old`. */
export function grown<T extends Int32Array | Uint32Array | Uint8Array | Float64Array>(
  old: T,
  capacity: number,
): T {
  const bigger = new (old.constructor as new (n: number) => T)(capacity);
  bigger.set(old);
  return bigger;
}
