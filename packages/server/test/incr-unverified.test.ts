import { describe, expect, it } from 'vitest';
import { stampAt } from '@dcache/core';
import { createReplicaStore } from '../src/operations/cache.js';
import { count, increment } from '../src/operations/incr.js';
import type { ReplicaStore } from '../src/replication/replica-store.js';
import { FLAGS_JSON } from '../src/operations/stored-value.js';

/**
 * count() over an entry written before the node's fence (a restore from a snapshot, a stall, a
 * fence request): never counted on, since a peer may have replaced it. Unseeded, a miss; seeded,
 * the key is absent — as it is to add — so the counter is created from the seed, stamped above
 * the unverified entry. A whole-cluster restart leaves every copy unverified: without this, an
 * incr with `initial` could neither count nor create the counter anywhere.
 */

const WALL = Date.UTC(2026, 0, 1);
const S = stampAt(WALL);

function newStore(): ReplicaStore {
  return createReplicaStore(
    { maxMemory: 1 << 20, maxItems: undefined, defaultTtl: 0, now: undefined },
    { tombstoneGrace: 600_000, maxClockSkew: 500, wallClock: () => WALL },
  );
}

/** A store holding the counter `n` = 10 stamped S + 5, then fenced: `n` is unverified. */
function fencedCounter(): ReplicaStore {
  const store = newStore();
  store.write('n', { bytes: new TextEncoder().encode('10'), flags: 0 }, undefined, null, S + 5);
  store.fence();
  expect(store.isVerified(store.lookup('n')!)).toBe(false);
  return store;
}

function held(store: ReplicaStore): { text: string; flags: number; stamp: number | undefined } {
  const entry = store.peekRaw('n')!;
  const { bytes, flags, stamp } = entry.value;
  return { text: new TextDecoder().decode(bytes), flags, stamp };
}

describe('count() of an unverified counter', () => {
  it('with a seed, creates the counter from it, stamped above the unverified entry, verified', () => {
    const store = fencedCounter();
    // Stamped below the entry (a client clock behind): the node stamps it above the entry.
    const created = count(store, 'n', 1n, { initial: 3n, ttl: 60_000 }, S + 1);
    expect(created).toEqual({ value: 3n, stamp: S + 6 });
    expect(held(store)).toEqual({ text: '3', flags: FLAGS_JSON, stamp: S + 6 });
    const entry = store.lookup('n')!;
    expect(store.isVerified(entry)).toBe(true);
    expect(entry.ttl).toBeGreaterThan(59_000);
    // Treated as absent, as add treats it: no stale read was prevented, none was made.
    expect(store.replicaStats.staleReadsPrevented).toBe(0);
    // The next incr counts on from the seed.
    expect(count(store, 'n', 2n, { initial: 3n, ttl: 60_000 }, S + 7)).toEqual({
      value: 5n,
      stamp: S + 7,
    });
  });

  it('with a seed stamped above the entry, keeps that stamp', () => {
    const store = fencedCounter();
    expect(count(store, 'n', 1n, { initial: 0n, ttl: undefined }, S + 50)).toEqual({
      value: 0n,
      stamp: S + 50,
    });
  });

  it('a seeded decr creates it too, holding initial as is', () => {
    const store = fencedCounter();
    expect(count(store, 'n', -4n, { initial: 7n, ttl: undefined })).toMatchObject({ value: 7n });
    expect(held(store).text).toBe('7');
  });

  it('increment() (the single-key HTTP route) answers as count() does', () => {
    const store = fencedCounter();
    expect(increment(store, 'n', 1n)).toBeUndefined();
    expect(increment(store, 'n', 1n, { initial: 1n, ttl: undefined })).toMatchObject({ value: 1n });
    expect(increment(store, 'n', 1n)).toMatchObject({ value: 2n });
  });

  it('without a seed, misses and changes nothing (counted staleReadsPrevented)', () => {
    const store = fencedCounter();
    expect(count(store, 'n', 1n, undefined, S + 9)).toBeUndefined();
    expect(held(store)).toEqual({ text: '10', flags: 0, stamp: S + 5 });
    expect(store.isVerified(store.lookup('n')!)).toBe(false);
    expect(store.replicaStats.staleReadsPrevented).toBe(1);
  });

  it('once a peer vouched for it, a seeded incr counts on it: the seed never resets a count', () => {
    const store = fencedCounter();
    expect(store.verify('n', S + 5).verified).toBe(true);
    expect(count(store, 'n', 1n, { initial: 0n, ttl: undefined })).toMatchObject({ value: 11n });
  });
});
