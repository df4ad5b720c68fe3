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

  it('a key written by one client instance is read by another', async () => {
    const writer = connect(cluster.urls);
    const reader = connect([...cluster.urls].reverse());
    await writer.set('shared', { from: 'writer' });
    expect(await reader.get('shared')).toStrictEqual({ from: 'writer' });
    await Promise.all([writer.close(), reader.close()]);
  });
});
