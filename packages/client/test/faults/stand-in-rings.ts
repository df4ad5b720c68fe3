// The two rings of a ring change that clients take at different times, as the stand-in tests meet
// it: node 2 stands in for node 1 in the first client's ring while it is a natural replica of the
// key in the second's, which left node 0.
import { expect } from 'vitest';
import { DistributedCacheClient } from '../../src/index.js';
import { keyWithPrimary } from '../key-with-primary.js';
import { eventually, heldOnNode, nodeStats, statNamed } from './node-http.js';
import { SETTLE_MS } from './scenario.js';
import type { Nemesis } from './nemesis.js';
import type { NemesisFixture } from './use-nemesis.js';

/** Whether the node at `url` holds `value` (a string, as the client encodes it) for `key`. */
export async function holds(url: string, key: string, value: string): Promise<boolean> {
  const held = await heldOnNode(url, key);
  return held.status === 200 && Buffer.from(held.bytes).toString().includes(value);
}

export interface StandInRings {
  nemesis: Nemesis;
  urls: readonly [string, string, string];
  /** The ring before the change: the key on node 0 (primary) and node 1; node 2 stands in. */
  before: DistributedCacheClient;
  /** The ring after it (node 0 left): the key on node 1 (primary) and node 2. */
  after: DistributedCacheClient;
  key: string;
  /** A key whose primary in `before` is node 1: a write of it marks node 1 down there. */
  markKey: string;
}

/**
 * Three nodes through the nemesis, the two clients (the first marks a node down after one
 * failure of 500 ms; the second waits `afterTimeout`) and a key with its replicas as described.
 */
export async function standInRings(
  fixture: NemesisFixture,
  prefix: string,
  afterTimeout: number,
): Promise<StandInRings> {
  const nemesis = await fixture.start({ nodes: 3 });
  const [zero, one, two] = [nemesis.urls[0]!, nemesis.urls[1]!, nemesis.urls[2]!];
  const before = fixture.keep(
    new DistributedCacheClient(nemesis.urls, { failureThreshold: 1, timeout: 500 }),
  );
  const after = fixture.keep(new DistributedCacheClient([one, two], { timeout: afterTimeout }));
  let key = keyWithPrimary(before, zero, `${prefix}:`);
  for (let i = 0; i < 100 && before.nodesFor(key)[1] !== one; i++) {
    key = keyWithPrimary(before, zero, `${prefix}-${i}:`);
  }
  expect(before.nodesFor(key)).toEqual([zero, one]);
  expect(after.nodesFor(key)).toEqual([one, two]);
  const markKey = keyWithPrimary(before, one, 'mark:');
  return { nemesis, urls: [zero, one, two], before, after, key, markKey };
}

/**
 * `older` written through the first ring and `newer` through the changed one (node 2 then holds it
 * as a natural replica), both with `ttl`; then node 1 paused and marked down in the first client,
 * so node 2 stands in for it there. Returns the first client's hints handed off so far.
 */
export async function standInOverNaturalCopy(
  rings: StandInRings,
  older: string | number,
  newer: string | number,
  ttl: number,
): Promise<number> {
  const { urls, before, after, key } = rings;
  expect(await before.set(key, older, { ttl })).toBe(true);
  // The newer write, on both of the changed ring's replicas: node 2 holds it as a natural one.
  expect(await after.set(key, newer, { ttl })).toBe(true);
  expect(await holds(urls[2], key, String(newer))).toBe(true);
  return markNodeOneDown(rings);
}

/**
 * Pauses node 1; a write that times out on it marks it down in the first client (failureThreshold
 * 1), so node 2 stands in for it there. Returns the first client's hints handed off so far.
 */
export async function markNodeOneDown(rings: StandInRings): Promise<number> {
  const { nemesis, urls, before, key, markKey } = rings;
  nemesis.pause(1);
  expect(await before.set(markKey, 'x')).toBe(false);
  expect(before.nodesFor(key)).toEqual([urls[0], urls[2]]);
  return before.getReplicationStats().hintsHandedOff;
}

/** Once the first client has handed off a hint since `handedOff` (for node 1), resumes node 1. */
export async function resumeAfterHandOff(rings: StandInRings, handedOff: number): Promise<void> {
  const { nemesis, before } = rings;
  expect(
    await eventually(async () => before.getReplicationStats().hintsHandedOff > handedOff, 5000),
  ).toBe(true);
  nemesis.resume(1);
}

/**
 * Once node 2's hints for node 1 are delivered (node 1 back), node 2 still holds `value` as a
 * natural replica: it holds it, and with node 1 stopped again it serves it alone.
 */
export async function expectKeptOnNodeTwo(
  fixture: NemesisFixture,
  rings: StandInRings,
  value: string | number,
  message: string,
): Promise<void> {
  const { nemesis, urls, key } = rings;
  const [, one, two] = urls;
  expect(
    await eventually(async () => statNamed(await nodeStats(two), 'hintsPending') === 0, 5000),
  ).toBe(true);
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  expect(await holds(two, key, String(value)), message).toBe(true);
  // One fault at a time: node 1 is back and settled, now it stops again. Node 2 answers alone.
  nemesis.pause(1);
  const reader = fixture.keep(
    new DistributedCacheClient([one, two], { failureThreshold: 1, timeout: 500 }),
  );
  expect(await reader.get(key)).toBe(value);
  nemesis.resume(1);
}
