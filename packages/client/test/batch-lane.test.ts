import { afterEach, expect, it } from 'vitest';
import { DistributedCacheClient } from '../src/index.js';
import { startCliNode, stopCliNodes } from './cli-nodes.js';

afterEach(() => stopCliNodes());

interface LaneStats {
  requests: { batch: number };
  batchLane: { batches: number; handOffs: number };
}

/**
 * A node's batch lane answers batches without Node's HTTP server, but hands a connection to that
 * server for good at its first other request. The client's stats and health requests must not
 * take a batch connection with them: every batch stays on the lane.
 */
it('every batch the client sends is answered on the nodes batch lanes, stats calls in between', async () => {
  const nodes = await Promise.all([1, 2, 3].map(() => startCliNode('127.0.0.1')));
  const client = new DistributedCacheClient(
    nodes.map((node) => node.url),
    { replicas: 2 },
  );
  try {
    for (let round = 0; round < 5; round++) {
      await Promise.all(
        Array.from({ length: 50 }, (_, i) => client.set(`lane:${round}:${i}`, `v${i}`)),
      );
      await client.getStats();
      const values = await Promise.all(
        Array.from({ length: 50 }, (_, i) => client.get(`lane:${round}:${i}`)),
      );
      expect(values).toEqual(Array.from({ length: 50 }, (_, i) => `v${i}`));
    }
  } finally {
    await client.close();
  }
  for (const node of nodes) {
    const stats = (await (await fetch(`${node.url}/v1/stats`)).json()) as LaneStats;
    expect(stats.requests.batch).toBeGreaterThan(0);
    expect(stats.batchLane.batches).toBe(stats.requests.batch);
  }
});
