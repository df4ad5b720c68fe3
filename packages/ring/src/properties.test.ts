import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HashRing } from './hash-ring.js';
import { murmur3 } from './murmur3.js';
import type { RingHash } from './options.js';
import { pointCount, vnodeLabel } from './ring-table.js';
import { nodeNames, prng } from '../bench/names.js';

/** The seed of the benchmark's weight pairs (bench/run.js). */
const WEIGHT_PAIRS_SEED = 7;

// Node ids as dcache writes them, plus arbitrary strings (unicode, dashes, digits) to stress the
// vnode labels and the id tie-break.
const urlId = fc
  .tuple(fc.ipV4(), fc.integer({ min: 1, max: 65535 }))
  .map(([host, port]) => `http://${host}:${port}`);
const nodeId = fc.oneof(urlId, fc.string({ minLength: 1, maxLength: 12, unit: 'binary' }));
const nodeIds = (min: number, max: number) =>
  fc.uniqueArray(nodeId, { minLength: min, maxLength: max });
const weight = fc.constantFrom(0.5, 1, 1, 2, 3);
const keys = fc.array(fc.string({ unit: 'binary' }), { minLength: 1, maxLength: 30 });

// A 6-bit hash puts many points of different nodes on the same position, exercising the
// (position, node id) ordering that keeps answers independent of insertion order.
const collidingHash: RingHash = (key) => murmur3(key) & 0x3f;
const hashes = fc.constantFrom<[string, RingHash]>(['murmur3', murmur3], ['6-bit', collidingHash]);

const shuffled = <T>(items: readonly T[]) =>
  fc.shuffledSubarray([...items], { minLength: items.length, maxLength: items.length });

/** The ring as a spec would state it: sort every point, take the first at or after the key. */
function model(weights: Map<string, number>, vnodes: number, hash: RingHash) {
  const points: { position: number; id: string }[] = [];
  for (const [id, w] of weights) {
    for (let i = 0; i < pointCount(w, vnodes); i++) {
      points.push({ position: hash(vnodeLabel(id, i)) >>> 0, id });
    }
  }
  points.sort((a, b) => a.position - b.position || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return (key: string, n: number): string[] => {
    const h = hash(key) >>> 0;
    let start = points.findIndex((p) => p.position >= h);
    if (start === -1) start = 0;
    const found: string[] = [];
    for (let step = 0; step < points.length && found.length < n; step++) {
      const { id } = points[(start + step) % points.length]!;
      if (!found.includes(id)) found.push(id);
    }
    return found;
  };
}

describe('HashRing properties', () => {
  it('agrees with the sort-everything model for get, getN and getNAt(pointOf)', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(nodeId, weight), { maxLength: 8, selector: ([id]) => id }),
        fc.integer({ min: 1, max: 12 }),
        hashes,
        keys,
        fc.nat({ max: 10 }),
        (entries, vnodes, [, hash], keyList, n) => {
          const ring = new HashRing([], { vnodes, hash });
          for (const [id, w] of entries) ring.add(id, w);
          const expected = model(new Map(entries), vnodes, hash);
          for (const key of keyList) {
            expect(ring.get(key)).toBe(expected(key, 1)[0]);
            expect(ring.getN(key, n)).toEqual(expected(key, n));
            // The allocation-free route: a key's point, then that point's list.
            const point = ring.pointOf(key);
            if (entries.length === 0) expect(point).toBe(-1);
            else expect(ring.getNAt(point, n)).toEqual(expected(key, n));
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('getN returns min(n, size) distinct nodes starting with get(key)', () => {
    fc.assert(
      fc.property(
        nodeIds(1, 12),
        fc.integer({ min: 1, max: 200 }),
        keys,
        fc.nat({ max: 15 }),
        (ids, vnodes, keyList, n) => {
          const ring = new HashRing(ids, { vnodes });
          for (const key of keyList) {
            const list = ring.getN(key, n);
            expect(list).toHaveLength(Math.min(n, ids.length));
            expect(new Set(list).size).toBe(list.length);
            if (n > 0) expect(list[0]).toBe(ring.get(key));
            for (const node of list) expect(ring.has(node)).toBe(true);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('gives the same answers whatever the insertion order, even after churn', () => {
    fc.assert(
      fc.property(
        fc
          .uniqueArray(fc.tuple(nodeId, weight), {
            minLength: 1,
            maxLength: 8,
            selector: ([id]) => id,
          })
          .chain((entries) => fc.tuple(fc.constant(entries), shuffled(entries))),
        nodeIds(0, 3),
        fc.integer({ min: 1, max: 50 }),
        hashes,
        keys,
        ([entries, reordered], transient, vnodes, [, hash], keyList) => {
          const a = new HashRing([], { vnodes, hash });
          for (const [id, w] of entries) a.add(id, w);
          const b = new HashRing([], { vnodes, hash });
          // b sees extra nodes come and go, and its real nodes in another order.
          const extras = transient.filter((id) => !entries.some(([e]) => e === id));
          for (const id of extras) b.add(id);
          for (const [id, w] of reordered) b.add(id, w);
          b.getN('warm the table up', 3);
          for (const id of extras) b.remove(id);
          for (const key of keyList)
            expect(b.getN(key, entries.length)).toEqual(a.getN(key, entries.length));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('moves keys only to an added node, and only away from a removed one', () => {
    fc.assert(
      fc.property(
        nodeIds(2, 10),
        fc.integer({ min: 1, max: 300 }),
        keys,
        (ids, vnodes, keyList) => {
          const [joining, ...rest] = ids as [string, ...string[]];
          const ring = new HashRing(rest, { vnodes });
          const before = keyList.map((key) => ring.get(key));
          ring.add(joining);
          const after = keyList.map((key) => ring.get(key));
          after.forEach((owner, i) => {
            if (owner !== before[i]) expect(owner).toBe(joining);
          });
          ring.remove(joining);
          // Removing it again moves exactly its keys back, and no others.
          expect(keyList.map((key) => ring.get(key))).toEqual(before);
          const leaving = rest[0]!;
          ring.remove(leaving);
          keyList.forEach((key, i) => {
            if (before[i] !== leaving) expect(ring.get(key)).toBe(before[i]);
          });
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('HashRing weights (1M keys per run)', () => {
  const million = Array.from({ length: 1_000_000 }, (_, i) => `key:${i}`);
  const urlSets = (count: number) => fc.uniqueArray(urlId, { minLength: count, maxLength: count });

  function loads(ring: HashRing): Map<string, number> {
    const counts = new Map<string, number>();
    for (const key of million) {
      const owner = ring.get(key)!;
      counts.set(owner, (counts.get(owner) ?? 0) + 1);
    }
    return counts;
  }

  it('nodes of weight 2 own 2× the keys of weight-1 nodes (±5%), at the default vnodes', () => {
    // Over random names (fast-check): 20 + 20 nodes average out per-node noise (std of the
    // ratio ≈ 0.4% at 4000 vnodes, so ±5% is > 10σ).
    fc.assert(
      fc.property(urlSets(40), (ids) => {
        const ring = new HashRing();
        ids.forEach((id, i) => ring.add(id, i < 20 ? 2 : 1));
        const counts = loads(ring);
        const sum = (part: string[]) =>
          part.reduce((total, id) => total + (counts.get(id) ?? 0), 0);
        const ratio = sum(ids.slice(0, 20)) / sum(ids.slice(20));
        expect(ratio).toBeGreaterThan(1.9);
        expect(ratio).toBeLessThan(2.1);
      }),
      { numRuns: 3 },
    );
  });

  it('a single node of weight 2 owns 2× the keys of a weight-1 node (±5%), at the default vnodes', () => {
    // Per node, the ratio's error is random in the names (std ≈ √(1.5 / vnodes), 1.9% at 4000;
    // about 1% of random pairs miss ±5%, see the README), so this checks fixed names: the first
    // 10 of the benchmark's 30 seeded pairs (10 keep the suite's CPU time bounded). Their worst
    // error at the default is 2.4% over these keys, 4.0% over all 30. Deterministic, so it cannot
    // fail by chance: it fails if the ring's placement or the default changes.
    const random = prng(WEIGHT_PAIRS_SEED);
    const errors = Array.from({ length: 10 }, () => {
      const [heavy, light] = nodeNames(random, 2) as [string, string];
      const ring = new HashRing();
      ring.add(heavy, 2);
      ring.add(light, 1);
      let heavyKeys = 0;
      for (const key of million) if (ring.get(key) === heavy) heavyKeys++;
      return Math.abs(heavyKeys / (million.length - heavyKeys) / 2 - 1);
    });
    for (const error of errors) expect(error).toBeLessThan(0.05);
  });
});
