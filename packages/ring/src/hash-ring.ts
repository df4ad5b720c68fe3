import { checkCount, checkKey, checkNodeId, checkWeight } from './arguments.js';
import { MAX_POINTS_PER_NODE, resolveOptions } from './options.js';
import type { HashRingOptions, RingHash } from './options.js';
import { buildTable, MAX_NODES, pointCount, successor } from './ring-table.js';
import type { RingTable } from './ring-table.js';

/**
 * A consistent-hash ring with virtual nodes and weights: `get(key)` names the node owning a key,
 * `getN(key, n)` its replica preference list. Answers depend only on the set of (node, weight)
 * pairs and the options, never on the order nodes were added.
 */
export class HashRing {
  readonly #vnodes: number;
  readonly #hash: RingHash;
  readonly #weights = new Map<string, number>();
  /** `undefined` after a membership change; rebuilt by the next lookup. */
  #table: RingTable | undefined;
  #generation = 0;

  constructor(nodes?: Iterable<string>, options?: HashRingOptions) {
    const { vnodes, hash } = resolveOptions(options);
    this.#vnodes = vnodes;
    this.#hash = hash;
    if (nodes === undefined) return;
    if (typeof nodes === 'string' || typeof nodes?.[Symbol.iterator] !== 'function') {
      throw new TypeError('HashRing: nodes must be an iterable of node id strings');
    }
    for (const node of nodes) this.add(node);
  }

  /**
   * Adds `node` with `weight` (its share relative to weight-1 nodes). Returns `true` if added.
   * Adding a node already present with the same weight is a no-op returning `false`; with a
   * different weight it throws a RangeError (remove it first): silently keeping either weight
   * would hide a configuration mistake.
   */
  add(node: string, weight = 1): boolean {
    checkNodeId(node, 'add');
    checkWeight(weight);
    const current = this.#weights.get(node);
    if (current !== undefined) {
      if (current === weight) return false;
      throw new RangeError(
        `HashRing.add: node ${node} is already in the ring with weight ${current}; remove it before adding it with weight ${weight}`,
      );
    }
    if (pointCount(weight, this.#vnodes) > MAX_POINTS_PER_NODE) {
      throw new RangeError(
        `HashRing.add: weight ${weight} × vnodes ${this.#vnodes} exceeds ${MAX_POINTS_PER_NODE} points per node`,
      );
    }
    if (this.#weights.size >= MAX_NODES) {
      throw new RangeError(`HashRing.add: a ring holds at most ${MAX_NODES} nodes`);
    }
    this.#weights.set(node, weight);
    this.#table = undefined;
    return true;
  }

  /** Removes `node`. Returns `true` if it was present; removing a missing node is a no-op returning `false`. */
  remove(node: string): boolean {
    checkNodeId(node, 'remove');
    if (!this.#weights.delete(node)) return false;
    this.#table = undefined;
    return true;
  }

  has(node: string): boolean {
    checkNodeId(node, 'has');
    return this.#weights.has(node);
  }

  /** The node ids, sorted (by UTF-16 code units), as a new array. */
  get nodes(): string[] {
    return [...this.#weights.keys()].sort();
  }

  /** Number of nodes. */
  get size(): number {
    return this.#weights.size;
  }

  /** The node owning `key`, or `undefined` when the ring is empty. */
  get(key: string): string | undefined {
    checkKey(key, 'get');
    const table = this.#table ?? this.#rebuild();
    if (table.points.length === 0) return undefined;
    return table.ids[table.owners[successor(table.points, this.#hash(key) >>> 0)]!];
  }

  /**
   * Up to `n` distinct nodes for `key` in ring order, starting with `get(key)`: the replica
   * preference list. Returns every node when `n` ≥ `size`, and `[]` on an empty ring.
   */
  getN(key: string, n: number): string[] {
    checkKey(key, 'getN');
    checkCount(n, 'getN');
    const table = this.#table ?? this.#rebuild();
    if (table.points.length === 0) return [];
    return this.#walk(table, successor(table.points, this.#hash(key) >>> 0), n);
  }

  /**
   * The index of the ring point owning `key` (`get(key)` is its node), or -1 on an empty ring.
   * Indexes hold until the next `add` or `remove`: a caller may keep what it derived per point
   * (a replica list, say) and look keys up without allocating.
   */
  pointOf(key: string): number {
    checkKey(key, 'pointOf');
    const table = this.#table ?? this.#rebuild();
    if (table.points.length === 0) return -1;
    return successor(table.points, this.#hash(key) >>> 0);
  }

  /** `getN` of every key owned by `point` (a `pointOf` answer since the last add or remove). */
  getNAt(point: number, n: number): string[] {
    checkCount(n, 'getNAt');
    if (typeof point !== 'number') {
      throw new TypeError(`HashRing.getNAt: point must be a number, got ${typeof point}`);
    }
    const table = this.#table ?? this.#rebuild();
    if (!Number.isSafeInteger(point) || point < 0 || point >= table.points.length) {
      throw new RangeError(
        `HashRing.getNAt: point must be an index below ${table.points.length}, got ${point}`,
      );
    }
    return this.#walk(table, point, n);
  }

  /** Up to `n` distinct nodes in ring order from point `start`. */
  #walk(table: RingTable, start: number, n: number): string[] {
    const { points, owners, ids, seen } = table;
    const wanted = Math.min(n, ids.length);
    if (wanted === 0) return [];

    // Sized up front: growing an empty array by push allocates a larger backing store.
    const result = new Array<string>(wanted);
    let i = start;
    const stamp = this.#nextGeneration(seen);
    for (let found = 0; found < wanted;) {
      const owner = owners[i]!;
      if (seen[owner] !== stamp) {
        seen[owner] = stamp;
        result[found++] = ids[owner]!;
      }
      if (++i === points.length) i = 0;
    }
    return result;
  }

  #rebuild(): RingTable {
    const table = buildTable(this.#weights, this.#vnodes, this.#hash);
    this.#table = table;
    this.#generation = 0;
    return table;
  }

  /** A stamp no entry of `seen` holds yet, so getN never has to clear it between calls. */
  #nextGeneration(seen: Uint32Array): number {
    if (this.#generation === 0xffffffff) {
      seen.fill(0);
      this.#generation = 0;
    }
    return ++this.#generation;
  }
}
