/**
 * Which slot holds a key, and which key a slot holds: the cache's index. A `Map` from key to slot
 * and an array from slot to key; the slot store keeps everything else about an entry.
 */
export const NONE = -1;

export class KeyIndex {
  #map = new Map<string, number>();
  /** Key per slot; undefined for a free slot. */
  keys: (string | undefined)[] = [];

  get size(): number {
    return this.#map.size;
  }

  /** The slot of `key`, or NONE. */
  slotOf(key: string): number {
    return this.#map.get(key) ?? NONE;
  }

  insert(key: string, slot: number): void {
    if (slot === this.keys.length) this.keys.push(key);
    else this.keys[slot] = key;
    this.#map.set(key, slot);
  }

  /** Forgets the key of `slot` and returns it. */
  remove(slot: number): string {
    const key = this.keys[slot]!;
    this.#map.delete(key);
    this.keys[slot] = undefined;
    return key;
  }

  clear(): void {
    this.#map = new Map();
    this.keys = [];
  }
}
