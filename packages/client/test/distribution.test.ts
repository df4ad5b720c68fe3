import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, holders, startCluster } from './cluster.js';
import type { TestCluster } from './cluster.js';

let cluster: TestCluster;
beforeAll(async () => {
  cluster = await startCluster(3);
});
afterAll(() => cluster.close());

describe('routing over the ring', () => {
  it('spreads keys over the three nodes, each stored where the ring says', async () => {
    const client = connect(cluster.urls, { replicas: 1 });
    const keys = Array.from({ length: 3000 }, (_, i) => `spread:${i}`);
    expect(await client.setMany(keys.map((key) => [key, key]))).toBe(true);
    const perNode = new Map(cluster.urls.map((url) => [url, 0]));
    for (const key of keys) {
      const where = holders(cluster.nodes, key);
      expect(where).toStrictEqual(client.nodesFor(key));
      perNode.set(where[0]!, perNode.get(where[0]!)! + 1);
    }
    // An even share is 1000 each; the ring's balance keeps every node well inside 800..1200.
    for (const count of perNode.values()) {
      expect(count).toBeGreaterThan(800);
      expect(count).toBeLessThan(1200);
    }
    await client.close();
  });

  it('sends a key to the same nodes whatever order (or spelling) the node list has', async () => {
    const [a, b, c] = cluster.urls as [string, string, string];
    const one = connect([a, b, c]);
    const other = connect([`${c}/`, a, b]);
    for (let i = 0; i < 1000; i++) {
      expect(other.nodesFor(`k${i}`)).toStrictEqual(one.nodesFor(`k${i}`));
    }
    await Promise.all([one.close(), other.close()]);
  });

  it('gives a node of weight 2 twice the keys of a weight-1 node, stored where the ring says', async () => {
    const [a, b, c] = cluster.urls as [string, string, string];
    for (const node of cluster.nodes) node.server.cache.clear();
    const client = connect([a, b, { url: c, weight: 2 }], { replicas: 1 });
    const keys = Array.from({ length: 4000 }, (_, i) => `weighted:${i}`);
    expect(await client.setMany(keys.map((key) => [key, key]))).toBe(true);
    for (const key of keys.slice(0, 200)) {
      expect(holders(cluster.nodes, key)).toStrictEqual(client.nodesFor(key));
    }
    const [onA, onB, onC] = cluster.nodes.map((node) => node.server.cache.size) as [
      number,
      number,
      number,
    ];
    expect(onA + onB + onC).toBe(keys.length);
    // Shares 1:1:2 of 4000 are 1000, 1000, 2000; the ring's balance keeps them well inside ±20%.
    expect(onC).toBeGreaterThan(1600);
    expect(onC).toBeLessThan(2400);
    for (const count of [onA, onB]) {
      expect(count).toBeGreaterThan(800);
      expect(count).toBeLessThan(1200);
    }
    // Other clients with the same weights route the same way; with other weights they do not.
    const same = connect([{ url: c, weight: 2 }, a, b]);
    const unweighted = connect([a, b, c]);
    const differ = keys.filter((key) => unweighted.nodesFor(key)[0] !== client.nodesFor(key)[0]);
    expect(keys.every((key) => same.nodesFor(key)[0] === client.nodesFor(key)[0])).toBe(true);
    expect(differ.length).toBeGreaterThan(0);
    await Promise.all([client.close(), same.close(), unweighted.close()]);
  });

  it('a key written by one client instance is read by another', async () => {
    const writer = connect(cluster.urls);
    const reader = connect([...cluster.urls].reverse());
    await writer.set('shared', { from: 'writer' });
    expect(await reader.get('shared')).toStrictEqual({ from: 'writer' });
    await Promise.all([writer.close(), reader.close()]);
  });
});
