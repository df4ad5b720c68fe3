import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HashRing } from '@dcache/ring';
import { connect, holders, startCluster } from './cluster.js';
import type { TestCluster, TestNode } from './cluster.js';

let cluster: TestCluster;
let ring: HashRing;
beforeAll(async () => {
  cluster = await startCluster(3);
  // The ring a reader of the docs would build: the node URLs, @dcache/ring's default vnodes.
  ring = new HashRing(cluster.urls);
});
afterAll(() => cluster.close());

function nodeOf(url: string): TestNode {
  return cluster.nodes.find((node) => node.url === url)!;
}

/** Stores `value` on one node only, through a client that knows no other node. */
async function writeOnly(url: string, key: string, value: unknown): Promise<void> {
  const single = connect([url], { replicas: 1 });
  expect(await single.set(key, value)).toBe(true);
  await single.close();
}

describe('routing', () => {
  // Unbatched, every set is its own request: fewer keys keep that case quick.
  it.each([
    [true, 500],
    [false, 150],
  ])(
    "a key lands exactly on the ring's getN(key, 2) nodes and on no other (batch: %s, %i keys)",
    async (batch, count) => {
      const client = connect(cluster.urls, { replicas: 2, writeConsistency: 'all', batch });
      expect(client.nodes).toStrictEqual(cluster.urls);
      const keys = Array.from({ length: count }, (_, i) => `route:${String(batch)}:${i}`);
      expect(await Promise.all(keys.map((key) => client.set(key, key)))).toStrictEqual(
        keys.map(() => true),
      );
      await client.close();
      const primaries = new Set<string>();
      for (const key of keys) {
        const expected = ring.getN(key, 2);
        primaries.add(expected[0]!);
        // holders() lists nodes in cluster order; compare as sets.
        expect(holders(cluster.nodes, key).sort(), key).toStrictEqual([...expected].sort());
      }
      // The keys spread over every node: a client routing everything to one node would fail above.
      expect(primaries.size).toBe(3);
    },
  );

  it("get asks the ring's primary first, then the replicas in getN order", async () => {
    const client = connect(cluster.urls, { replicas: 3 });
    const keys = Array.from({ length: 60 }, (_, i) => `first:${i}`);
    for (const key of keys) {
      const order = ring.getN(key, 3);
      expect(client.nodesFor(key)).toStrictEqual(order);
      // A different value on each node: what get returns says which node answered.
      for (const url of order) await writeOnly(url, key, `from ${url}`);
      expect(await client.get(key)).toBe(`from ${order[0]!}`);
      // With the primary missing it, the second in preference order answers, not the third.
      nodeOf(order[0]!).server.cache.delete(key);
      expect(await client.get(key)).toBe(`from ${order[1]!}`);
    }
    // Every node was the primary of some key, so the order above was not a coincidence.
    expect(new Set(keys.map((key) => ring.getN(key, 1)[0])).size).toBe(3);
    await client.close();
  });
});
