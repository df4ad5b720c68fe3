// A stand-in's copy that another client's ring then counts on or touches as a natural replica:
// node 2 stands in for node 1 in one client's ring and takes its write; a third client's ring,
// which left node 1, holds the key on nodes 0 and 2, and its incr or touch restamps the copy on
// node 2 as a natural replica (no hint: both its replicas answered). Once node 2's stand-in hint
// for the write is delivered to node 1, node 2 must keep the copy: the ring that counts on it
// would be one copy short, and a later fault of node 0 would lose the count or the write there.
import { describe, expect, it } from 'vitest';
import { DistributedCacheClient } from '../../src/index.js';
import { eventually } from './node-http.js';
import { expectKeptOnNodeTwo, holds, standInRings } from './stand-in-rings.js';
import type { StandInRings } from './stand-in-rings.js';
import type { NemesisFixture } from './use-nemesis.js';
import { useNemesis } from './use-nemesis.js';

const fixture = useNemesis();
/** Long enough that nothing expires during the test. */
const TTL_MS = 60_000;

/**
 * The rings, node 1 paused and marked down in the first client, which then writes `value`: node 2
 * takes it as a stand-in and holds the stand-in hint for node 1. Returns the third client, whose
 * ring (node 1 left) holds the key on nodes 0 and 2.
 */
async function standInWrite(
  fixture: NemesisFixture,
  prefix: string,
  value: string | number,
): Promise<{ rings: StandInRings; beside: DistributedCacheClient }> {
  const rings = await standInRings(fixture, prefix, 5000);
  const { nemesis, urls, before, key, markKey } = rings;
  const [zero, , two] = urls;
  const beside = fixture.keep(new DistributedCacheClient([zero, two], { timeout: 5000 }));
  expect([...beside.nodesFor(key)].sort()).toEqual([zero, two].sort());

  nemesis.pause(1);
  // Node 1 times out once and is marked down in the first client (failureThreshold 1).
  expect(await before.set(markKey, 'x')).toBe(false);
  expect(before.nodesFor(key)).toEqual([zero, two]);
  const handedOff = before.getReplicationStats().hintsHandedOff;
  expect(await before.set(key, value, { ttl: TTL_MS })).toBe(true);
  expect(await holds(two, key, String(value))).toBe(true);
  expect(
    await eventually(async () => before.getReplicationStats().hintsHandedOff > handedOff, 5000),
  ).toBe(true);
  return { rings, beside };
}

describe("a stand-in's copy another ring counts on as a natural replica", () => {
  it('stays once the stand-in hint for its write is delivered, touched there', async () => {
    const { rings, beside } = await standInWrite(fixture, 'touched-beside', 'v1');
    // Nodes 0 and 2 both answer: the touch is applied on node 2 as a natural replica, unhinted.
    expect(await beside.touch(rings.key, TTL_MS)).toBe(true);
    expect(beside.getReplicationStats().hintsHandedOff).toBe(0);

    rings.nemesis.resume(1);
    await expectKeptOnNodeTwo(
      fixture,
      rings,
      'v1',
      "node 2 dropped the copy another ring's touch counted on when the write's hint was delivered",
      0,
    );
  }, 30_000);

  it('stays once the stand-in hint for its write is delivered, counted on there', async () => {
    const { rings, beside } = await standInWrite(fixture, 'counted-beside', 100);
    expect(await beside.incr(rings.key)).toBe(101);
    expect(await holds(rings.urls[2], rings.key, '101')).toBe(true);
    expect(beside.getReplicationStats().hintsHandedOff).toBe(0);

    rings.nemesis.resume(1);
    await expectKeptOnNodeTwo(
      fixture,
      rings,
      101,
      "node 2 dropped the counter another ring's incr counted on when the write's hint was delivered",
      0,
    );
  }, 30_000);
});
