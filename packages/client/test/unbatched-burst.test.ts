import { readFileSync } from 'node:fs';
import { afterEach, expect, it } from 'vitest';
import { DistributedCacheClient } from '../src/index.js';
import { startCliNode, stopCliNodes } from './cli-nodes.js';

afterEach(() => stopCliNodes());

/**
 * Established TCP connections whose local end is 127.0.0.1:`port` (the node's side), from
 * /proc/net/tcp. The address too, not the port alone: a node of a test running beside this one may
 * listen on 127.0.0.2 or .3 with the same port number, and its connections would count here.
 */
function connectionsTo(port: number): number {
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  let count = 0;
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields[1] === local && fields[3] === '01') count++;
  }
  return count;
}

/**
 * With `batch: false` every operation is a request of its own. A burst of them must wait for a
 * bounded set of connections per node (as memjs's and ioredis's commands wait for theirs) instead
 * of opening a socket each: hundreds of sockets set up at once outlast the timeout on a loaded
 * machine and got healthy nodes marked down.
 */
it('a burst of unbatched calls uses at most maxBatchesInFlight connections per node, and no node is marked down', async () => {
  const nodes = await Promise.all([1, 2, 3].map(() => startCliNode('127.0.0.1')));
  const ports = nodes.map((node) => Number(new URL(node.url).port));
  const down: string[] = [];
  const client = new DistributedCacheClient(
    nodes.map((node) => node.url),
    { replicas: 2, batch: false, timeout: 10_000, onNodeDown: (node) => down.push(node) },
  );
  try {
    const keys = Array.from({ length: 900 }, (_, i) => `burst:${i}`);
    expect(await client.setMany(keys.map((key) => [key, key]))).toBe(true);
    let most = 0;
    const sampler = setInterval(() => {
      for (const port of ports) most = Math.max(most, connectionsTo(port));
    }, 5);
    let values: unknown[];
    try {
      values = await Promise.all(keys.map((key) => client.get(key)));
    } finally {
      clearInterval(sampler);
    }
    expect(values).toEqual(keys);
    expect(down).toEqual([]);
    // Each node's primaries' gets: about 300 at once; the batch connections are capped at 65
    // (64 batches and one for hint hand-offs), and a few more carry the client's other requests
    // (setMany's batches are on the same pool).
    expect(most).toBeGreaterThan(0);
    expect(most).toBeLessThanOrEqual(65 + 4);
  } finally {
    await client.close();
  }
});
