import { describe, expect, it } from 'vitest';
import { STAMPS_PER_MS, stampAt } from '@dcache/core';
import { createReplicaStore } from '../src/operations/cache.js';
import { increment } from '../src/operations/incr.js';
import type { ReplicaStore } from '../src/replication/replica-store.js';
import { compareReplicas } from '../src/replication/replica-order.js';
import type { StoredValue } from '../src/operations/stored-value.js';

const WALL = Date.UTC(2026, 0, 1);
const GRACE = 600_000;

function newStore(options: { maxMemory?: number; wall?: () => number } = {}): ReplicaStore {
  return createReplicaStore(
    { maxMemory: options.maxMemory ?? 1 << 20, maxItems: undefined, defaultTtl: 0, now: undefined },
    { tombstoneGrace: GRACE, maxClockSkew: 500, wallClock: options.wall ?? (() => WALL) },
  );
}

function value(text: string, flags = 0): StoredValue {
  return { bytes: new TextEncoder().encode(text), flags };
}

function text(store: ReplicaStore, key: string): string | undefined {
  const entry = store.peekRaw(key);
  if (entry === undefined) return undefined;
  return entry.value.tombstone ? '<tombstone>' : new TextDecoder().decode(entry.value.bytes);
}

const S = stampAt(WALL);

describe('compareReplicas: one winner on every node', () => {
  const cases: [string, StoredValue, StoredValue, number][] = [
    ['newer stamp wins', { ...value('a'), stamp: S + 1 }, { ...value('b'), stamp: S }, 1],
    ['older stamp loses', { ...value('b'), stamp: S }, { ...value('a'), stamp: S + 1 }, -1],
    [
      'tie: a tombstone beats a value',
      { bytes: new Uint8Array(), flags: 0, stamp: S, tombstone: true },
      { ...value('a'), stamp: S },
      1,
    ],
    ['tie: higher flags win', { ...value('a', 2), stamp: S }, { ...value('b', 1), stamp: S }, 1],
    ['tie: greater bytes win', { ...value('b'), stamp: S }, { ...value('a'), stamp: S }, 1],
    ['the same write', { ...value('a'), stamp: S }, { ...value('a'), stamp: S }, 0],
    ['unstamped is oldest', value('z'), { ...value('a'), stamp: 1 }, -1],
  ];
  it.each(cases)('%s', (_name, a, b, expected) => {
    expect(Math.sign(compareReplicas(a, b))).toBe(expected);
    expect(Math.sign(compareReplicas(b, a))).toBe(-expected || 0);
  });
});

describe('ReplicaStore writes: newest wins, whatever the arrival order', () => {
  // Each row: operations applied in order, then what the key holds.
  type Op =
    ['set', string, number] | ['delete', number] | ['copy', string, number] | ['bury', number];
  const cases: [string, Op[], string | undefined][] = [
    [
      'a later write wins',
      [
        ['set', 'v1', S + 1],
        ['set', 'v2', S + 2],
      ],
      'v2',
    ],
    [
      'a late write loses',
      [
        ['set', 'v2', S + 2],
        ['set', 'v1', S + 1],
      ],
      'v2',
    ],
    [
      'a delete leaves a tombstone',
      [
        ['set', 'v1', S + 1],
        ['delete', S + 2],
      ],
      '<tombstone>',
    ],
    [
      'a write delivered after a newer delete loses',
      [
        ['delete', S + 2],
        ['set', 'v1', S + 1],
      ],
      '<tombstone>',
    ],
    [
      'a write newer than the delete wins',
      [
        ['delete', S + 2],
        ['set', 'v3', S + 3],
      ],
      'v3',
    ],
    [
      'a copy of an older value is refused',
      [
        ['set', 'v2', S + 2],
        ['copy', 'v1', S + 1],
      ],
      'v2',
    ],
    [
      'a copy of a newer value applies',
      [
        ['set', 'v1', S + 1],
        ['copy', 'v2', S + 2],
      ],
      'v2',
    ],
    [
      'a copied tombstone beats an older value',
      [
        ['set', 'v1', S + 1],
        ['bury', S + 2],
      ],
      '<tombstone>',
    ],
    [
      'an older tombstone loses to a value',
      [
        ['set', 'v2', S + 2],
        ['bury', S + 1],
      ],
      'v2',
    ],
    [
      'a tie between a tombstone and a value goes to the tombstone',
      [
        ['set', 'v1', S + 1],
        ['bury', S + 1],
      ],
      '<tombstone>',
    ],
  ];
  it.each(cases)('%s', (_name, ops, expected) => {
    const store = newStore();
    for (const op of ops) {
      if (op[0] === 'set') store.write('k', value(op[1]), undefined, null, op[2]);
      else if (op[0] === 'delete') store.remove('k', op[1]);
      else if (op[0] === 'copy') store.copy('k', value(op[1]), 0, op[2]);
      else store.bury('k', op[1]);
    }
    expect(text(store, 'k')).toBe(expected);
  });

  it('a losing fresh write is acknowledged with the stored version and stamp, superseded', () => {
    const store = newStore();
    const newer = store.write('k', value('v2'), undefined, null, S + 2)!;
    expect(newer.superseded).toBeUndefined();
    const lost = store.write('k', value('v1'), undefined, null, S + 1);
    expect(lost).toEqual({ ...newer, superseded: true });
  });

  it('a fresh write losing a tie of stamps is superseded: its stamp alone would look applied', () => {
    const store = newStore();
    const kept = store.write('k', value('zz'), undefined, null, S + 2)!;
    expect(store.write('k', value('aa'), undefined, null, S + 2)).toEqual({
      ...kept,
      superseded: true,
    });
    store.remove('d', S + 3);
    expect(store.write('d', value('zz'), undefined, null, S + 3)).toMatchObject({
      stamp: S + 3,
      superseded: true,
    });
  });

  it('copies answer applied or the stamp they lost to, and count both', () => {
    const store = newStore();
    store.write('k', value('v2'), undefined, null, S + 2);
    expect(store.copy('k', value('v1'), 0, S + 1)).toEqual({ applied: false, stamp: S + 2 });
    expect(store.copy('k', value('v3'), 0, S + 3)).toEqual({ applied: true, stamp: S + 3 });
    expect(store.replicaStats).toMatchObject({ copiesApplied: 1, copiesRefused: 1 });
  });

  it('an unstamped write is stamped above everything the node stored', () => {
    const store = newStore();
    store.copy('k', value('from a peer'), 0, S + 100);
    const version = store.set('k', value('memcached'));
    expect(version).toBe(store.peekRaw('k')!.version);
    expect(store.peekRaw('k')!.value.stamp).toBeGreaterThan(S + 100);
    expect(text(store, 'k')).toBe('memcached');
  });

  it('incr-like rewrites stamp above the stored stamp; an unstamped touch does too', () => {
    const store = newStore();
    store.write('k', value('1'), undefined, null, S + 50);
    expect(store.rewrite('k', value('2'), undefined, S + 10).stamp).toBe(S + 51);
    expect(store.retouch('k', 1000)!.stamp).toBeGreaterThan(S + 51);
    expect(store.retouch('missing', 1000)).toBeUndefined();
  });

  it('a touch stamped at or below the entry (issued before its write, delivered late) changes nothing', () => {
    const store = newStore();
    store.write('k', value('newer'), 60_000, null, S + 50);
    expect(store.retouch('k', 1000, S + 5)).toEqual({ stamp: S + 50, superseded: true });
    expect(store.retouch('k', 1000, S + 50)).toEqual({ stamp: S + 50, superseded: true });
    const held = store.peekRaw('k')!;
    expect(held.value.stamp).toBe(S + 50);
    expect(held.ttl).toBeGreaterThan(59_000);
    // Stamped above it, a touch applies under its own stamp.
    expect(store.retouch('k', 1000, S + 60)).toEqual({ stamp: S + 60 });
    expect(store.peekRaw('k')!.ttl).toBeLessThanOrEqual(1000);
  });

  it('conditions see a tombstone as absent', () => {
    const store = newStore();
    store.write('k', value('v1'), undefined, null, S + 1);
    store.remove('k', S + 2);
    expect(store.write('k', value('x'), undefined, 'replace', S + 3)).toBeUndefined();
    const added = store.write('k', value('v3'), undefined, 'add', S + 1)!;
    // Stamped above the tombstone it replaces, even though its own stamp was older.
    expect(added.stamp).toBe(S + 3);
    expect(store.write('k', value('v4'), undefined, added.version, S + 4)!.stamp).toBe(S + 4);
    expect(store.write('k', value('v5'), undefined, added.version, S + 5)).toBeUndefined();
  });

  it('an add with `since` is refused over anything of the key stamped after it, and only then', () => {
    const store = newStore();
    // A delete made after the read-through's read: the loaded value may predate it.
    store.remove('deleted', S + 20);
    expect(
      store.write('deleted', value('loaded'), undefined, 'add', S + 30, S + 10),
    ).toBeUndefined();
    expect(text(store, 'deleted')).toBe('<tombstone>');
    // A delete from before the read: the add creates over it, stamped above it.
    store.remove('old-delete', S + 5);
    const added = store.write('old-delete', value('loaded'), undefined, 'add', S + 30, S + 10)!;
    expect(added.stamp).toBe(S + 30);
    expect(text(store, 'old-delete')).toBe('loaded');
    // Nothing held: stored.
    expect(store.write('fresh', value('loaded'), undefined, 'add', S + 30, S + 10)).toBeDefined();
    // A value the node cannot vouch for counts too: a write made during the load it may be.
    store.write('unverified', value('written meanwhile'), undefined, null, S + 20);
    store.fence();
    expect(store.write('unverified', value('x'), undefined, 'add', S + 30, S + 10)).toBeUndefined();
    expect(text(store, 'unverified')).toBe('written meanwhile');
    // Without `since`, add sees the unverified entry as absent, as before.
    expect(store.write('unverified', value('x'), undefined, 'add', S + 31)).toBeDefined();
    // Nor, once fenced, can it vouch that nothing of a key it does not hold was deleted before the
    // fence: an add whose read came before it is refused, one whose read came after is stored.
    expect(store.write('other', value('loaded'), undefined, 'add', S + 40, S + 10)).toBeUndefined();
    const afterFence = store.vouchingFloor();
    expect(
      store.write('other', value('loaded'), undefined, 'add', afterFence + 2, afterFence + 1),
    ).toBeDefined();
  });

  it('an add with `since` is refused once the node was flushed after it', () => {
    const store = newStore();
    const before = store.received(S + 1);
    store.clear();
    expect(store.flushStamp).toBeGreaterThan(before);
    expect(store.write('k', value('loaded'), undefined, 'add', undefined, before)).toBeUndefined();
    expect(store.peekRaw('k')).toBeUndefined();
    const after = store.flushStamp;
    expect(store.write('k', value('loaded'), undefined, 'add', undefined, after)).toBeDefined();
  });

  it('an add with `since` is refused when a delete newer than it may have been forgotten', () => {
    // Evicted for room before its grace: the tombstone floor stands for it.
    const small = createReplicaStore(
      { maxMemory: 2000, maxItems: undefined, defaultTtl: 0, now: undefined },
      { tombstoneGrace: GRACE, maxClockSkew: 500, wallClock: () => WALL },
    );
    small.remove('k', S + 20);
    for (let i = 0; i < 20; i++) small.write(`f${i}`, value('x'.repeat(100)), undefined, null);
    expect(small.peekRaw('k')).toBeUndefined();
    expect(small.write('k', value('loaded'), undefined, 'add', S + 30, S + 10)).toBeUndefined();
    expect(small.write('k', value('loaded'), undefined, 'add', S + 31, S + 25)).toBeDefined();
    // A load longer than tombstoneGrace: a delete made during it may have expired.
    let wall = WALL;
    const store = newStore({ wall: () => wall });
    wall += GRACE + 1000;
    expect(store.write('k', value('loaded'), undefined, 'add', undefined, S + 10)).toBeUndefined();
    expect(
      store.write('k', value('loaded'), undefined, 'add', undefined, stampAt(wall - 1)),
    ).toBeDefined();
  });

  it('a conditional write stamped before the last flush is stamped above it, so its copies apply', () => {
    const store = newStore();
    store.clear();
    const flushed = store.flushStamp;
    const added = store.write('k', value('v'), undefined, 'add', S + 1)!;
    expect(added.stamp).toBe(flushed + 1);
    expect(store.write('k', value('r'), undefined, 'replace', S + 2)!.stamp).toBe(flushed + 2);
  });

  it('refuses a stamp further ahead than maxClockSkew, and counts it', () => {
    const store = newStore();
    expect(() => store.received(S + 600 * STAMPS_PER_MS)).toThrow(/maxClockSkew/);
    expect(store.received(S + 400 * STAMPS_PER_MS)).toBe(S + 400 * STAMPS_PER_MS);
    expect(() => store.received(-1)).toThrow(/stamp/);
    expect(store.replicaStats.clockSkewRejections).toBe(1);
  });
});

describe('ReplicaStore tombstones', () => {
  it("a plain delete of a key not held leaves none until a cluster client has written here; a batch's always does", () => {
    const store = newStore();
    expect(store.delete('absent')).toBe(false);
    expect(store.peekRaw('absent')).toBeUndefined();
    store.remove('batch'); // a batch delete: a hint for it may follow
    expect(store.peekRaw('batch')?.value.tombstone).toBe(true);
    store.noteRingNodes('3');
    store.delete('absent');
    expect(store.peekRaw('absent')?.value.tombstone).toBe(true);
    expect(store.replicaStats.tombstones).toBe(2);
  });

  it('are misses for the plain view, neither items nor hits, and counted as a level', () => {
    const store = newStore();
    store.set('k', value('v'));
    expect(store.delete('k')).toBe(true);
    expect(store.delete('k')).toBe(false);
    expect(store.get('k')).toBeUndefined();
    expect(store.stats).toMatchObject({ items: 0, hits: 0, misses: 1, deletes: 1, sets: 1 });
    expect(store.replicaStats.tombstones).toBe(1);
    expect(store.add('k', value('again'), {})).toBe(store.peekRaw('k')!.version);
    expect(store.replicaStats.tombstones).toBe(0);
  });

  it('live for tombstoneGrace plus maxClockSkew (its stamp may be that far ahead)', () => {
    let now = 0;
    const store = createReplicaStore(
      { maxMemory: 1 << 20, maxItems: undefined, defaultTtl: 0, now: () => now },
      { tombstoneGrace: GRACE, maxClockSkew: 500, wallClock: () => WALL },
    );
    store.remove('k', S + 1);
    now = GRACE + 499;
    expect(store.peekRaw('k')?.value.tombstone).toBe(true);
    now = GRACE + 500;
    expect(store.peekRaw('k')).toBeUndefined();
  });

  it('evicted early raise the tombstone floor, counted (the one unguaranteeable case)', () => {
    const early: [string, number][] = [];
    const store = createReplicaStore(
      { maxMemory: 2000, maxItems: undefined, defaultTtl: 0, now: undefined },
      {
        tombstoneGrace: GRACE,
        maxClockSkew: 500,
        wallClock: () => WALL,
        onEarlyEviction: (key, stamp) => early.push([key, stamp]),
      },
    );
    store.remove('gone', S + 7);
    for (let i = 0; i < 20; i++) store.write(`k${i}`, value('x'.repeat(100)), undefined, null);
    expect(early).toEqual([['gone', S + 7]]);
    expect(store.replicaStats).toMatchObject({
      tombstones: 0,
      tombstonesEvictedEarly: 1,
      tombstoneFloor: S + 7,
    });
    expect(store.vouchingFloor()).toBeGreaterThanOrEqual(S + 7);
  });

  it('an evicted tombstone still keeps older copies of a key held nowhere from coming back', () => {
    const store = newStore({ maxMemory: 2000 });
    store.write('gone', value('old'), undefined, null, S + 5);
    store.remove('gone', S + 7);
    for (let i = 0; i < 20; i++) store.write(`k${i}`, value('x'.repeat(100)), undefined, null);
    expect(store.replicaStats.tombstoneFloor).toBe(S + 7);
    // A hint replay or repair of the value the delete removed, from a replica that missed it:
    // applied, a batch get would serve it as verified.
    expect(store.copy('gone', value('old'), 0, S + 5)).toEqual({ applied: false, stamp: S + 7 });
    expect(store.peekRaw('gone')).toBeUndefined();
    // A tombstone copy still applies, and so does a value newer than the floor.
    expect(store.bury('gone', S + 6).applied).toBe(true);
    expect(store.copy('other', value('new'), 0, S + 8).applied).toBe(true);
  });
});

describe('ReplicaStore lost-value floor', () => {
  it('a value gone by expiry or eviction raises the floor past its stamp; overwrites and deletes do not', () => {
    let now = 1_000;
    const store = createReplicaStore(
      { maxMemory: 4000, maxItems: undefined, defaultTtl: 0, now: () => now },
      { tombstoneGrace: GRACE, maxClockSkew: 500, wallClock: () => WALL },
    );
    const at = S + 100 * STAMPS_PER_MS;
    store.write('a', value('1'), undefined, null, at + 10);
    store.write('a', value('2'), undefined, null, at + 20);
    store.remove('a', at + 30);
    expect(store.replicaStats.lostValueFloor).toBe(0);
    expect(store.vouchingFloor()).toBeLessThan(at);

    store.write('short', value('x'), 1000, null, at + 40);
    now += 1001;
    expect(store.lookup('short')).toBeUndefined();
    expect(store.replicaStats.lostValueFloor).toBe(at + 40);
    expect(store.vouchingFloor()).toBe(at + 40);

    // Filling the memory evicts 'old' first (least recently used), then more.
    store.write('old', value('y'.repeat(100)), undefined, null, at + 50);
    for (let i = 0; i < 40; i++) store.write(`k${i}`, value('x'.repeat(100)), undefined, null);
    expect(store.peekRaw('old')).toBeUndefined();
    expect(store.replicaStats.lostValueFloor).toBeGreaterThanOrEqual(at + 50);
    expect(store.vouchingFloor()).toBe(store.replicaStats.lostValueFloor);
    // A level, like tombstoneFloor: a stats reset keeps it.
    const floor = store.replicaStats.lostValueFloor;
    store.resetStats();
    expect(store.replicaStats.lostValueFloor).toBe(floor);
  });
});

describe('ReplicaStore fence', () => {
  it('hides what it held from the plain view until verified or rewritten', () => {
    const store = newStore();
    store.write('a', value('a'), undefined, null, S + 1);
    store.write('b', value('b'), undefined, null, S + 2);
    store.fence();
    expect(store.get('a')).toBeUndefined();
    expect(store.isVerified(store.lookup('a')!)).toBe(false);
    expect(store.replicaStats).toMatchObject({ fences: 1, staleReadsPrevented: 1 });

    expect(store.verify('a', S + 9)).toEqual({ verified: false, stamp: S + 1 });
    expect(store.verify('a', S + 1)).toEqual({ verified: true, stamp: S + 1 });
    expect(store.isVerified(store.lookup('a')!)).toBe(true);
    expect(store.get('a')).toBeDefined();

    store.write('b', value('b2'), undefined, null, S + 3);
    expect(store.isVerified(store.lookup('b')!)).toBe(true);
    expect(store.replicaStats.verifications).toBe(1);
  });

  it('the plain get answers and counts as getEntry does, before and after a fence', () => {
    // Two stores driven alike: one read with get, the other with getEntry.
    const stores = [newStore(), newStore()] as const;
    const keys = ['held', 'deleted', 'fenced', 'verified', 'rewritten', 'after', 'absent'];
    for (const store of stores) {
      store.write('held', value('h'), undefined, null, S + 1);
      store.write('deleted', value('d'), undefined, null, S + 1);
      store.delete('deleted');
      store.write('fenced', value('f'), undefined, null, S + 2);
      store.write('verified', value('v'), undefined, null, S + 3);
      store.write('rewritten', value('r'), undefined, null, S + 4);
    }
    const reads = (): [unknown[], unknown[]] => [
      keys.map((k) => stores[0].get(k)),
      keys.map((k) => stores[1].getEntry(k)?.value),
    ];
    const [beforeGet, beforeEntry] = reads();
    expect(beforeGet).toEqual(beforeEntry);
    expect(beforeGet.filter((v) => v !== undefined)).toHaveLength(4);
    for (const store of stores) {
      store.fence();
      store.verify('verified', S + 3);
      store.write('rewritten', value('r2'), undefined, null, S + 5);
      store.write('after', value('a'), undefined, null, S + 6);
    }
    const [afterGet, afterEntry] = reads();
    expect(afterGet).toEqual(afterEntry);
    const shown = keys.map((k, i) => (afterGet[i] === undefined ? undefined : text(stores[0], k)));
    expect(shown).toEqual([undefined, undefined, undefined, 'v', 'r2', 'a', undefined]);
    expect(stores[0].stats).toEqual(stores[1].stats);
    expect(stores[0].replicaStats).toEqual(stores[1].replicaStats);
    expect(stores[0].replicaStats.staleReadsPrevented).toBe(2);
  });

  it('the plain get never serves an unverified entry, whenever in the read it expires', () => {
    // A clock that moves 1 ms at every reading: for some TTL the entry expires between any two
    // readings the get makes, whatever their number.
    for (let ttl = 1; ttl <= 40; ttl++) {
      let now = 1000;
      const store = createReplicaStore(
        { maxMemory: 1 << 20, maxItems: undefined, defaultTtl: 0, now: () => now++ },
        { tombstoneGrace: GRACE, maxClockSkew: 500, wallClock: () => WALL },
      );
      store.write('k', value('old'), ttl, null, S + 1);
      store.fence();
      expect(store.get('k'), `ttl ${ttl}`).toBeUndefined();
    }
  });

  it('a copy of the same write verifies it', () => {
    const store = newStore();
    store.write('a', value('a'), undefined, null, S + 1);
    store.fence();
    expect(store.copy('a', value('a'), 0, S + 1)).toEqual({ applied: true, stamp: S + 1 });
    expect(store.isVerified(store.lookup('a')!)).toBe(true);
    // Counted: every copy a node answers is applied or refused, none invisible.
    expect(store.replicaStats).toMatchObject({ copiesApplied: 1, verifications: 1 });
  });
});

describe('ReplicaStore flush stamp', () => {
  it('refuses copies stamped before the flush', () => {
    const store = newStore();
    store.write('a', value('a'), undefined, null, S + 1);
    store.clear();
    expect(store.peekRaw('a')).toBeUndefined();
    expect(store.copy('a', value('a'), 0, S + 1).applied).toBe(false);
    expect(store.copy('a', value('new'), 0, store.flushStamp + 1).applied).toBe(true);
  });

  it('the vouching floor covers the node start, the flush and expired tombstones', () => {
    let wall = WALL;
    const store = newStore({ wall: () => wall });
    expect(store.vouchingFloor()).toBe(store.startStamp);
    wall += GRACE + 60_000;
    expect(store.vouchingFloor()).toBe(stampAt(wall - GRACE));
    store.clear();
    expect(store.vouchingFloor()).toBe(store.flushStamp);
  });

  it('covers a fence: a node fenced may have missed deletes from before it', () => {
    const store = newStore();
    store.write('held', value('v'), undefined, null, S + 1);
    const before = store.vouchingFloor();
    store.fence();
    // At or above every stamp seen before the fence, the write held here included.
    expect(store.vouchingFloor()).toBeGreaterThan(before);
    expect(store.vouchingFloor()).toBeGreaterThanOrEqual(S + 1);
  });
});

describe('ReplicaStore: read-modify-writes of an unverified entry', () => {
  it('a touch answers absent and changes nothing (a re-stamp could pass it off as current)', () => {
    const store = newStore();
    store.write('k', value('v'), undefined, null, S + 1);
    store.fence();
    expect(store.retouch('k', 1000, S + 5)).toBeUndefined();
    expect(store.peekRaw('k')!.value.stamp).toBe(S + 1);
    expect(store.isVerified(store.lookup('k')!)).toBe(false);
    expect(store.replicaStats.staleReadsPrevented).toBe(1);
  });
});

describe('ReplicaStore: a write refused as larger than the node', () => {
  const huge = (): StoredValue => value('x'.repeat(20_000));

  it('an unconditional one drops the old value, counted as a delete, under a tombstone just below its stamp', () => {
    const store = newStore({ maxMemory: 10_000 });
    store.write('k', value('old'), undefined, null, S + 10);
    expect(() => store.write('k', huge(), undefined, null, S + 20)).toThrow(/memory limit/);
    expect(text(store, 'k')).toBe('<tombstone>');
    expect(store.peekRaw('k')!.value.stamp).toBe(S + 19);
    expect(store.stats.deletes).toBe(1);
    // An older copy stays out; the refused write itself, stored by a replica with more room, wins.
    expect(store.copy('k', value('old'), 0, S + 10).applied).toBe(false);
    expect(store.copy('k', value('the write'), 0, S + 20).applied).toBe(true);
    expect(text(store, 'k')).toBe('the write');
  });

  it('a plain add over a tombstone keeps the tombstone, so a deleted value cannot come back', () => {
    const store = newStore({ maxMemory: 10_000 });
    store.noteRingNodes('3');
    store.write('k', value('old'), undefined, null, S + 10);
    store.remove('k', S + 20);
    expect(store.add('k', huge(), {})).toBeUndefined();
    expect(text(store, 'k')).toBe('<tombstone>');
    expect(store.replicaStats.tombstones).toBe(1);
    expect(store.copy('k', value('old'), 0, S + 10).applied).toBe(false);
    expect(store.get('k')).toBeUndefined();
  });

  it('conditional and read-modify-writes keep the entry', () => {
    const store = newStore({ maxMemory: 10_000 });
    const { version } = store.write('k', value('old'), undefined, null, S + 10)!;
    expect(() => store.write('k', huge(), undefined, 'replace', S + 20)).toThrow(/memory limit/);
    expect(() => store.write('k', huge(), undefined, version, S + 20)).toThrow(/memory limit/);
    expect(() => store.rewrite('k', huge(), undefined, S + 20)).toThrow(/memory limit/);
    expect(store.compareAndSet('k', huge(), version)).toBe('refused');
    expect(store.replace('k', huge())).toBeUndefined();
    expect(text(store, 'k')).toBe('old');
    expect(store.stats.deletes).toBe(0);
  });
});

describe('ReplicaStore: tombstones and clocks within maxClockSkew', () => {
  it('a tombstone stamped ahead of this clock is held until the grace floor covers its stamp', () => {
    // A writer whose clock runs 400 ms ahead (within maxClockSkew, 500 ms) wrote `v` and then
    // deleted it. Were the tombstone gone while the floor is still below its stamp, a returning
    // replica's unverified `v` (older than the delete, newer than the floor) would be vouched for
    // by this node's miss — and copied back here: the deleted value served again, for good.
    let wall = WALL;
    const store = createReplicaStore(
      { maxMemory: 1 << 20, maxItems: undefined, defaultTtl: 0, now: () => wall },
      { tombstoneGrace: GRACE, maxClockSkew: 500, wallClock: () => wall },
    );
    const deleted = store.received(stampAt(WALL + 400));
    store.remove('k', deleted);
    for (const after of [
      GRACE - 1,
      GRACE + 1,
      GRACE + 200,
      GRACE + 399,
      GRACE + 401,
      GRACE + 600,
    ]) {
      wall = WALL + after;
      const held = store.peekRaw('k')?.value.tombstone === true;
      expect(held || store.vouchingFloor() >= deleted, `${after} ms after the delete`).toBe(true);
    }
  });
});

describe('ReplicaStore: the write a stand-in hint stood in for', () => {
  /** A store holding 'k' written at S + 10 and touched at S + 20 and S + 30. */
  function touchedTwice(): ReplicaStore {
    const store = newStore();
    store.write('k', value('w'), undefined, null, S + 10);
    store.retouch('k', 60_000, S + 20);
    store.retouch('k', 60_000, S + 30);
    return store;
  }

  const cases: [string, number | undefined, number | undefined][] = [
    ['the write, named before or after touches', S + 10, S + 10],
    ['the last touch: no write', S + 30, undefined],
    ['an earlier touch, delivered late: no write', S + 20, undefined],
    ['nothing named: the write held, not its last touch', undefined, S + 10],
    ['below the write (a superseded write or touch): as named', S + 5, S + 5],
    ['above everything held: as named', S + 40, S + 40],
  ];
  it.each(cases)('%s', (_, named, expected) => {
    expect(touchedTwice().standInWrite('k', named)).toBe(expected);
  });

  it('names what it is told for a key not held', () => {
    expect(newStore().standInWrite('absent', S)).toBe(S);
    expect(newStore().standInWrite('absent', undefined)).toBeUndefined();
  });

  it('drops a copy by its write, touched or not, and keeps any other write', () => {
    const store = touchedTwice();
    store.dropCopy('k', S + 30);
    expect(text(store, 'k')).toBe('w');
    store.dropCopy('k', S + 10);
    expect(text(store, 'k')).toBeUndefined();
    store.write('k', value('newer'), undefined, null, S + 50);
    store.dropCopy('k', S + 10);
    expect(text(store, 'k')).toBe('newer');
  });
});

describe('ReplicaStore: the write a stand-in hint stood in for, counted on since', () => {
  /** A store holding 'k' written at S + 10, counted on at S + 20, touched at S + 30, counted at S + 40. */
  function counted(): ReplicaStore {
    const store = newStore();
    store.write('k', value('1'), undefined, null, S + 10);
    increment(store, 'k', 1n, undefined, S + 20);
    store.retouch('k', 60_000, S + 30);
    increment(store, 'k', 1n, undefined, S + 40);
    return store;
  }

  const cases: [string, number | undefined, number | undefined][] = [
    ['the write, named before or after the incrs', S + 10, S + 10],
    ['the last incr: no write', S + 40, undefined],
    ['an earlier incr, delivered late: no write', S + 20, undefined],
    ['the touch between them: no write', S + 30, undefined],
    ['nothing named: the write held, not its last incr', undefined, S + 10],
    ['above everything held: as named', S + 50, S + 50],
  ];
  it.each(cases)('%s', (_, named, expected) => {
    expect(counted().standInWrite('k', named)).toBe(expected);
  });

  it('drops a counted copy by its write, and keeps any other write', () => {
    const store = counted();
    expect(text(store, 'k')).toBe('3');
    store.dropCopy('k', S + 40);
    expect(text(store, 'k')).toBe('3');
    store.dropCopy('k', S + 10);
    expect(text(store, 'k')).toBeUndefined();
    store.write('k', value('7'), undefined, null, S + 50);
    increment(store, 'k', 1n, undefined, S + 60);
    store.dropCopy('k', S + 10);
    expect(text(store, 'k')).toBe('8');
  });

  it('keeps a copy restamped above the newest stamp the stand-in hints named', () => {
    // The hints named the write and the first incr; the touch and the last incr no hint named.
    const store = counted();
    store.dropCopy('k', S + 10, S + 20);
    expect(text(store, 'k')).toBe('3');
    store.dropCopy('k', S + 10, S + 40);
    expect(text(store, 'k')).toBeUndefined();
  });
});
