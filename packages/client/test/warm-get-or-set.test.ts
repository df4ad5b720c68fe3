// A getOrSet load stored while a transition window is open for a key that moved, through
// CLI-started nodes: the loaded value reads back — at once, and after the key moves back (the
// node it moved to leaves within the window) — as a set's does. The previous owners' tombstone
// goes below the add, which is stamped as of the load's start: above it, the next read took the
// tombstone for a newer delete and buried the loaded value.
import { afterEach, describe, expect, it } from 'vitest';
import { DistributedCacheClient } from '../src/index.js';
import { startRingChangeNodes, stopCliNodes } from './cli-nodes.js';
import { waitFor } from './cluster.js';

const clients: DistributedCacheClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  await stopCliNodes();
});

const KEYS = Array.from({ length: 200 }, (_, i) => `loaded:${i}`);

for (const replicas of [1, 2]) {
  describe(`getOrSet in a window, then the key moves back, replicas ${replicas}`, () => {
    it('reads the loaded value after the node it was loaded to leaves', async () => {
      const [a, b, c, d] = await startRingChangeNodes(4);
      const client = new DistributedCacheClient([a!.url, b!.url, c!.url], {
        replicas,
        writeConsistency: 'all',
        timeout: 5000,
        // Open for the whole test: both changes fall in one window.
        transition: { maxWindowMs: 60_000, quietMs: 60_000 },
      });
      clients.push(client);
      client.addNode(d!.url);
      // With copies to check (replicas 2), d's join is fenced. A load that spans that fence is
      // not stored where d decides the key (get-or-set-fenced-during-load.test.ts): d cannot
      // vouch that no delete came during it. Not what this file checks (the tombstone below the
      // add), so the loads start once d is fenced, as in warm-get-or-set-once.test.ts.
      if (replicas > 1) {
        await waitFor(() => client.getReplicationStats().fencesSent >= 1, "d's join to be fenced");
      }
      const onD = KEYS.filter((key) => client.nodesFor(key).includes(d!.url)).slice(0, 10);
      expect(onD.length).toBeGreaterThan(5);
      for (const key of onD) {
        expect(await client.getOrSet(key, (name) => `loaded:${name}`)).toBe(`loaded:${key}`);
      }
      // The stores run in the background: wait until each reads back.
      await waitFor(async () => {
        for (const key of onD) if ((await client.get(key)) !== `loaded:${key}`) return false;
        return true;
      }, 'the loaded values to be stored');

      expect(await client.removeNode(d!.url)).toBe(true);
      const wrong: string[] = [];
      for (const key of onD) {
        const value = await client.get(key);
        if (value !== `loaded:${key}`) wrong.push(`${key}=${String(value)}`);
      }
      expect(wrong).toStrictEqual([]);
    });
  });
}
