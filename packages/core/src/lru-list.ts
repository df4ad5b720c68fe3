/**
 * The recency order: a doubly linked list threaded through slot indices held in Int32Arrays, as in
 * lru-cache, so that promoting an entry rewires two integers and allocates nothing. The arrays
 * start small and double when full (never beyond `maxSlots`), so a cache sized for millions of
 * entries that holds a few costs a few. Freed slots are chained through `next` and reused first.
 */
const NONE = -1;
const INITIAL_SLOTS = 16;

export class LruList {
  next: Int32Array;
  prev: Int32Array;
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
    const initial = Math.min(INITIAL_SLOTS, maxSlots);
    this.next = new Int32Array(initial);
    this.prev = new Int32Array(initial);
  }

  get capacity(): number {
    return this.next.length;
  }

  /**
   * A free slot, linked nowhere yet. Grows the arrays when every slot is in use; the caller
   * compares `capacity` before and after to grow its own parallel arrays.
   */
  allocate(): number {
    const free = this.#freeHead;
    if (free !== NONE) {
      this.#freeHead = this.next[free]!;
      return free;
    }
    if (this.used === this.next.length) this.#grow();
    return this.used++;
  }

  /** Unlinks `slot` and puts it on the free list. */
  release(slot: number): void {
    this.unlink(slot);
    this.next[slot] = this.#freeHead;
    this.#freeHead = slot;
  }

  pushHead(slot: number): void {
    const head = this.head;
    this.prev[slot] = NONE;
    this.next[slot] = head;
    if (head === NONE) this.tail = slot;
    else this.prev[head] = slot;
    this.head = slot;
  }

  moveToHead(slot: number): void {
    if (slot === this.head) return;
    this.unlink(slot);
    this.pushHead(slot);
  }

  unlink(slot: number): void {
    const prev = this.prev[slot]!;
    const next = this.next[slot]!;
    if (prev === NONE) this.head = next;
    else this.next[prev] = next;
    if (next === NONE) this.tail = prev;
    else this.prev[next] = prev;
  }

  #grow(): void {
    const size = Math.min(this.next.length * 2, this.maxSlots);
    this.next = grown(this.next, size);
    this.prev = grown(this.prev, size);
  }
}

/** A typed array of `capacity` elements holding the first elements of `old`. */
export function grown<T extends Int32Array | Uint32Array | Float64Array>(
  old: T,
  capacity: number,
): T {
  const bigger = new (old.constructor as new (n: number) => T)(capacity);
  bigger.set(old);
  return bigger;
}
