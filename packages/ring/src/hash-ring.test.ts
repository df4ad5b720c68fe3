import { describe, expect, it } from 'vitest';
import { HashRing } from './hash-ring.js';
import { DEFAULT_VNODES } from './options.js';

// A transparent hash, as in groupcache's tests: keys are numbers written in decimal, and virtual
// node i of node "N" sits at N + 100 × i. With vnodes 3, nodes "10", "40", "70" own the points
// 10 40 70 110 140 170 210 240 270, so expected owners can be read off by hand.
const numeric = (label: string): number => {
  const dash = label.lastIndexOf('-');
  if (dash === -1) return Number(label);
  return Number(label.slice(0, dash)) + 100 * Number(label.slice(dash + 1));
};

describe('HashRing lookups', () => {
  const ring = new HashRing(['10', '40', '70'], { vnodes: 3, hash: numeric });

  it.each([
    ['0', '10'],
    ['10', '10'], // a key exactly on a point belongs to that point
    ['11', '40'],
    ['69', '70'],
    ['75', '10'], // next point is 110
    ['239', '40'],
    ['270', '70'],
    ['271', '10'], // past the last point: wraps around to the first
  ])('get(%j) is %j', (key, owner) => {
    expect(ring.get(key)).toBe(owner);
  });

  it.each([
    ['75', 1, ['10']],
    ['75', 2, ['10', '40']],
    ['75', 3, ['10', '40', '70']],
    ['75', 10, ['10', '40', '70']], // more than the node count: every node
    ['265', 2, ['70', '10']], // wraps around
    ['75', 0, []],
  ] as const)('getN(%j, %i) is %j', (key, n, owners) => {
    expect(ring.getN(key, n)).toEqual(owners);
  });

  it('skips further points of nodes already chosen', () => {
    // Node "1" owns 1 101 201 and node "50" owns 50 150 250: from key 2 the walk meets 50,
    // then 101; asking for 3 still yields 2, since only 2 nodes exist.
    const two = new HashRing(['1', '50'], { vnodes: 3, hash: numeric });
    expect(two.getN('2', 3)).toEqual(['50', '1']);
  });

  it('gives a weight-w node round(vnodes × w) points (at least one)', () => {
    const weighted = new HashRing([], { vnodes: 2, hash: numeric });
    weighted.add('10', 1.5); // 3 points: 10 110 210
    weighted.add('20', 0.1); // rounds to 0, kept at 1 point: 20
    expect(weighted.get('150')).toBe('10'); // 210 is node 10's third point
    expect(weighted.get('15')).toBe('20');
    expect(weighted.get('21')).toBe('10');
    expect(weighted.getN('21', 5)).toEqual(['10', '20']);
  });

  it('breaks a tie between nodes on the same point by node id, whatever the insertion order', () => {
    const collide = (): number => 7; // every point and key lands on 7
    const ab = new HashRing(['b', 'a', 'c'], { vnodes: 4, hash: collide });
    const ba = new HashRing(['c', 'a', 'b'], { vnodes: 4, hash: collide });
    expect(ab.get('x')).toBe('a');
    expect(ba.get('x')).toBe('a');
    expect(ab.getN('x', 3)).toEqual(['a', 'b', 'c']);
    expect(ba.getN('x', 3)).toEqual(['a', 'b', 'c']);
  });

  it('uses murmur3 and the default vnodes when no options are given', () => {
    const plain = new HashRing(['http://127.0.0.1:8001', 'http://127.0.0.1:8002']);
    const explicit = new HashRing(['http://127.0.0.1:8002', 'http://127.0.0.1:8001'], {
      vnodes: DEFAULT_VNODES,
    });
    for (let i = 0; i < 1000; i++) expect(plain.get(`k${i}`)).toBe(explicit.get(`k${i}`));
  });

  it.each([
    [
      'the default ring (4000 vnodes since the default changed)',
      undefined,
      [
        'http://127.0.0.1:8003',
        'http://127.0.0.1:8003',
        'http://127.0.0.1:8001',
        'http://127.0.0.1:8001',
        'http://127.0.0.1:8002',
      ],
    ],
    [
      // The previous default: clusters that set vnodes: 1000 keep routing exactly as before.
      'a 1000-vnode ring (the previous default)',
      { vnodes: 1000 },
      [
        'http://127.0.0.1:8001',
        'http://127.0.0.1:8003',
        'http://127.0.0.1:8002',
        'http://127.0.0.1:8001',
        'http://127.0.0.1:8002',
      ],
    ],
  ])('pins %s: these owners are part of the client/server contract', (_, options, expected) => {
    // If a table changes, clients and servers of different versions disagree on ownership.
    // Golden values recorded from a release; the model test in properties.test.ts checks how
    // they are derived.
    const nodes = ['http://127.0.0.1:8001', 'http://127.0.0.1:8002', 'http://127.0.0.1:8003'];
    const pinned = new HashRing(nodes, options);
    const owners = ['a', 'b', 'user:42', 'ключ', '🔑'].map((key) => pinned.get(key));
    expect(owners).toEqual(expected);
  });
});

describe('HashRing membership', () => {
  it('an empty ring has no owner and no preference list', () => {
    const ring = new HashRing();
    expect(ring.size).toBe(0);
    expect(ring.nodes).toEqual([]);
    expect(ring.get('k')).toBeUndefined();
    expect(ring.getN('k', 3)).toEqual([]);
  });

  it('add returns true for a new node; re-adding it with the same weight is a no-op returning false', () => {
    const ring = new HashRing(['b'], { vnodes: 3, hash: numeric });
    expect(ring.add('a')).toBe(true);
    expect(ring.add('a')).toBe(false);
    expect(ring.add('b', 1)).toBe(false);
    expect(ring.size).toBe(2);
    expect(ring.nodes).toEqual(['a', 'b']);
  });

  it('re-adding a node with a different weight throws a RangeError and changes nothing', () => {
    const ring = new HashRing(['http://a:1'], { vnodes: 50 });
    const before = Array.from({ length: 200 }, (_, i) => ring.getN(`k${i}`, 2));
    ring.add('http://b:1');
    expect(() => ring.add('http://b:1', 2)).toThrow(/already in the ring with weight 1/);
    expect(ring.size).toBe(2);
    ring.remove('http://b:1');
    expect(Array.from({ length: 200 }, (_, i) => ring.getN(`k${i}`, 2))).toEqual(before);
  });

  it('remove returns true for a present node and false (no-op) for a missing one', () => {
    const ring = new HashRing(['a', 'b']);
    expect(ring.remove('a')).toBe(true);
    expect(ring.remove('a')).toBe(false);
    expect(ring.remove('zzz')).toBe(false);
    expect(ring.has('a')).toBe(false);
    expect(ring.has('b')).toBe(true);
    expect(ring.get('anything')).toBe('b');
  });

  it('nodes is a sorted copy the caller may mutate', () => {
    const ring = new HashRing(['c', 'a', 'b']);
    const nodes = ring.nodes;
    expect(nodes).toEqual(['a', 'b', 'c']);
    nodes.pop();
    expect(ring.nodes).toEqual(['a', 'b', 'c']);
  });

  it('accepts any iterable of node ids', () => {
    const ring = new HashRing(new Set(['a', 'b']));
    expect(ring.nodes).toEqual(['a', 'b']);
  });

  it('pointOf names the owning point; getNAt lists from it and refuses an index off the ring', () => {
    // Points at 10, 40, 70 (one vnode each): 20 is owned by the point at 40, index 1.
    const ring = new HashRing(['10', '40', '70'], { vnodes: 1, hash: numeric });
    expect(ring.pointOf('20')).toBe(1);
    expect(ring.getNAt(1, 2)).toEqual(['40', '70']);
    expect(ring.pointOf('80')).toBe(0);
    expect(() => ring.getNAt(3, 1)).toThrow(/point must be an index below 3, got 3/);
    expect(() => ring.getNAt(-1, 1)).toThrow(RangeError);
    expect(new HashRing().pointOf('k')).toBe(-1);
  });

  it('answers reflect additions and removals made after lookups', () => {
    const ring = new HashRing(['10'], { vnodes: 1, hash: numeric });
    expect(ring.get('20')).toBe('10');
    ring.add('30');
    expect(ring.get('20')).toBe('30');
    ring.remove('30');
    expect(ring.get('20')).toBe('10');
    ring.remove('10');
    expect(ring.get('20')).toBeUndefined();
  });
});
