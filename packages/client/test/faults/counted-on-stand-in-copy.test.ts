// The mirror of incr-on-stand-in and touch-on-stand-in: node 2 takes the write as a stand-in (node
// 1 down in the first client's ring), and an incr or a touch of it as a natural replica of the key
// in another client's ring, which left node 1 (a ring change that clients take at different
// times). That client reaches node 0 and node 2, and no hint names its incr or touch. Once the
// write's stand-in hint is delivered to node 1, node 2 must keep the key: it is one of the changed
// ring's two copies of an acknowledged count or write, and with the other replica's fault the
// changed ring would lose it.
import { describe, expect, it } from 'vitest';
import { DistributedCacheClient } from '../../src/index.js';
import { keyWithPrimary } from '../key-with-primary.js';
import { eventually, nodeStats, statNamed } from './node-http.js';
import { SETTLE_MS } from './scenario.js';
import { holds } from './stand-in-rings.js';
import { useNemesis } from './use-nemesis.js';

const fixture = useNemesis();
/** Long enough that nothing expires during the test. */
const TTL_MS = 60_000;

const cases = [
  ['counted on', 11],
  ['touched', 10],
] as const;

describe('a stand-in copy changed by a client whose ring has it as a natural replica', () => {
  it.each(cases)(
    "%s, stays on the stand-in once the write's hint is delivered",
    async (how, held) => {
      const nemesis = await fixture.start({ nodes: 3 });
      const [zero, one, two] = [nemesis.urls[0]!, nemesis.urls[1]!, nemesis.urls[2]!];
      const before = fixture.keep(
        new DistributedCacheClient(nemesis.urls, { failureThreshold: 1, timeout: 500 }),
      );
      // Node 1 left this client's ring: the key's replicas are node 0 and node 2.
      const after = fixture.keep(new DistributedCacheClient([zero, two], { timeout: 5000 }));
      let key = keyWithPrimary(before, zero, 'stood-in:');
      for (let i = 0; i < 100 && before.nodesFor(key)[1] !== one; i++) {
        key = keyWithPrimary(before, zero, `stood-in-${i}:`);
      }
      expect(before.nodesFor(key)).toEqual([zero, one]);
      expect([...after.nodesFor(key)].sort()).toEqual([zero, two].sort());
      const markKey = keyWithPrimary(before, one, 'mark:');

      nemesis.pause(1);
      // Node 1 times out once and is marked down in the first client (failureThreshold 1).
      expect(await before.set(markKey, 'x')).toBe(false);
      expect(before.nodesFor(key)).toEqual([zero, two]);
      const handedOff = before.getReplicationStats().hintsHandedOff;
      // Node 0 and node 2 (the stand-in) take the write; node 2 is handed the stand-in hint.
      expect(await before.set(key, 10, { ttl: TTL_MS })).toBe(true);
      expect(await holds(two, key, '10')).toBe(true);
      expect(
        await eventually(async () => before.getReplicationStats().hintsHandedOff > handedOff, 5000),
      ).toBe(true);

      // The changed ring's client counts on (or touches) both of its replicas, node 2 as a natural
      // one.
      if (how === 'touched') expect(await after.touch(key, TTL_MS)).toBe(true);
      else expect(await after.incr(key)).toBe(11);
      expect(await holds(two, key, String(held))).toBe(true);

      nemesis.resume(1);
      expect(
        await eventually(async () => statNamed(await nodeStats(two), 'hintsPending') === 0, 5000),
      ).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
      expect(
        await holds(two, key, String(held)),
        "node 2 dropped the changed ring's copy with the write's stand-in hint",
      ).toBe(true);
      // One fault at a time: node 0 stops, and the changed ring's node 2 answers alone.
      nemesis.pause(0);
      const reader = fixture.keep(
        new DistributedCacheClient([zero, two], { failureThreshold: 1, timeout: 500 }),
      );
      expect(await reader.get(key), 'the changed ring lost the key').toBe(held);
      nemesis.resume(0);
    },
    30_000,
  );
});
