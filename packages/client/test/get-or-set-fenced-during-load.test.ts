// A getOrSet whose deciding replica is fenced while the load runs, through CLI-started nodes: the
// add is refused there, since the fenced node may have missed a delete made during the load (a
// change to the source the loader may have read before), and a value stored over it would be
// served as verified. The caller still gets the loaded value; the cache does not hold it, and the
// next getOrSet loads again and stores it. This is what a node's join fence (landing between a
// load's start and its add) costs a getOrSet in a transition window: one more load, no stale value.
import { afterEach, describe, expect, it } from 'vitest';
import { DistributedCacheClient } from '../src/index.js';
import { startRingChangeNodes, stopCliNodes } from './cli-nodes.js';
import type { CliNode } from './cli-nodes.js';
import { waitFor } from './cluster.js';

const clients: DistributedCacheClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  await stopCliNodes();
});

const KEYS = Array.from({ length: 200 }, (_, i) => `fenced-load:${i}`);

async function fence(node: CliNode): Promise<void> {
  const response = await fetch(`${node.url}/v1/fence`, { method: 'POST' });
  expect(response.status).toBe(204);
}

/** A client of three CLI nodes (replicas 2) and the node that decides the keys tested. */
async function cluster(inWindow: boolean): Promise<{
  client: DistributedCacheClient;
  decider: CliNode;
  keys: string[];
}> {
  const [a, b, c, d] = await startRingChangeNodes(inWindow ? 4 : 3);
  const client = new DistributedCacheClient([a!.url, b!.url, c!.url], {
    replicas: 2,
    timeout: 5000,
    transition: { maxWindowMs: 60_000, quietMs: 60_000 },
  });
  clients.push(client);
  let decider = a!;
  if (inWindow) {
    // The case a join fence makes: keys moved to d, loaded while the window is open.
    client.addNode(d!.url);
    await waitFor(() => client.getReplicationStats().fencesSent >= 1, "d's join to be fenced");
    expect(client.getTransitionStats().open).toBe(true);
    decider = d!;
  }
  const keys = KEYS.filter((key) => client.nodesFor(key)[0] === decider.url).slice(0, 5);
  expect(keys.length).toBeGreaterThan(2);
  return { client, decider, keys };
}

for (const inWindow of [false, true]) {
  describe(`getOrSet with its deciding replica fenced during the load${inWindow ? ', a joined node in a window' : ''}`, () => {
    it('returns the loaded value, does not cache it, and the next getOrSet loads and caches it', async () => {
      const { client, decider, keys } = await cluster(inWindow);
      const loads: string[] = [];
      for (const key of keys) {
        const value = await client.getOrSet(key, async (name) => {
          loads.push(name);
          await fence(decider);
          return `first:${name}`;
        });
        expect(value).toBe(`first:${key}`);
      }

      // A getOrSet made while the key's store is under way waits for it and reads again: it loads
      // only because the add was refused.
      for (const key of keys) {
        const value = await client.getOrSet(key, (name) => {
          loads.push(name);
          return `second:${name}`;
        });
        expect(value).toBe(`second:${key}`);
      }
      expect(loads).toStrictEqual([...keys, ...keys]);
      await waitFor(async () => {
        for (const key of keys) if ((await client.get(key)) !== `second:${key}`) return false;
        return true;
      }, 'the second loads to be stored');
      // And a third getOrSet is answered from the cache.
      for (const key of keys) {
        expect(await client.getOrSet(key, () => `third:${key}`)).toBe(`second:${key}`);
      }
    });
  });
}
