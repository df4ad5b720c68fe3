import { expect, it } from 'vitest';
import { Cluster } from './cluster.js';
import { handOff } from './hints.js';
import { resolveNode, resolveOptions } from './options.js';

// Nothing listens there: every request is refused at once.
const A = 'http://127.0.0.1:9';
const B = 'http://127.0.0.2:9';

it('a node owed a fence that leaves the ring is forgotten: churn does not grow fenceOnReturn', async () => {
  const options = resolveOptions([A, B], {
    replicas: 2,
    timeout: 200,
    failureThreshold: 1,
    transition: { maxWindowMs: 0 },
  });
  const cluster = new Cluster(options);
  try {
    for (let i = 0; i < 20; i++) {
      const node = cluster.nodes.find((member) => member.url === B)!;
      // Marked down, then a write it missed whose hint no replica took: owed a fence.
      node.health.recordFailure(new Error('down'));
      expect(node.up).toBe(false);
      await handOff(cluster, 'k', node, [], cluster.nodes);
      expect(cluster.fenceOnReturn.has(node)).toBe(true);
      // Its pod goes from the records (a crash), and comes back later: a new node client.
      await cluster.change([], [B], 'discovery');
      expect(cluster.fenceOnReturn.has(node)).toBe(false);
      await cluster.change([resolveNode(B, 'node', options.vnodes)], [], 'discovery');
    }
    expect(cluster.fenceOnReturn.size).toBeLessThanOrEqual(1);
  } finally {
    await cluster.close();
  }
});
