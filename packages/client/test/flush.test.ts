import { afterEach, describe, expect, it } from 'vitest';
import { isFlushIncompleteError } from '../src/index.js';
import type { FlushIncompleteError } from '../src/index.js';
import { connect, startCluster, startHoldingProxy, waitFor } from './cluster.js';
import type { TestCluster } from './cluster.js';

let cluster: TestCluster | undefined;
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

const itemsOn = (c: TestCluster): number[] => c.nodes.map((node) => node.server.cache.size);

describe('flush()', () => {
  it.each([
    ['batching on', true],
    ['batching off', false],
  ])('empties every node, and later writes stay (%s)', async (_what, batch) => {
    cluster = await startCluster(3);
    const client = connect(cluster.urls, { batch, writeConsistency: 'all' });
    await client.setMany(Array.from({ length: 30 }, (_, i) => [`k${i}`, i] as const));
    expect(itemsOn(cluster).every((items) => items > 0)).toBe(true);
    await client.flush();
    expect(itemsOn(cluster)).toEqual([0, 0, 0]);
    expect(await client.get('k1')).toBeUndefined();
    await client.set('after', 'kept');
    expect(await client.get('after')).toBe('kept');
    await client.close();
  });

  it('goes after what was issued to each node before it, even unawaited writes', async () => {
    cluster = await startCluster(3);
    const client = connect(cluster.urls);
    // Issued in the same tick as the flush, before it: a flush sent on its own request would
    // overtake these (they wait for the batch) and leave them stored.
    const writes = Array.from({ length: 20 }, (_, i) => client.set(`early${i}`, i));
    const flushed = client.flush();
    expect(await Promise.all(writes)).toEqual(Array.from({ length: 20 }, () => true));
    await flushed;
    await client.close(); // lets the replica writes still on their way land first
    expect(itemsOn(cluster)).toEqual([0, 0, 0]);
  });

  it('a read that began before the flush does not write its value back after it', async () => {
    cluster = await startCluster(2);
    const [a, b] = cluster.nodes as [(typeof cluster.nodes)[0], (typeof cluster.nodes)[0]];
    const slowB = await startHoldingProxy(b.url); // holds b's answers until released
    try {
      const client = connect([a.url, slowB.url], { replicas: 2 });
      let key = 'pre-flush';
      for (let i = 0; client.nodesFor(key)[0] !== a.url; i++) key = `pre-flush:${i}`;
      b.server.cache.set(key, { bytes: new Uint8Array([1, 2, 3]), flags: 0 }); // on b only
      const read = client.get(key); // a misses, then b answers — held
      await waitFor(() => slowB.held() === 1, "b's answer to the read to be held");
      const flushed = client.flush(); // a is emptied now; b's flush waits behind the read
      slowB.release();
      expect(await read).toStrictEqual(new Uint8Array([1, 2, 3]));
      await flushed;
      await client.close(); // every repair issued has landed by now
      expect(a.entry(key)).toBeUndefined();
      expect(b.entry(key)).toBeUndefined();
    } finally {
      await slowB.close();
    }
  });

  it('flushes the reachable nodes and rejects with FlushIncompleteError naming the one that was not', async () => {
    cluster = await startCluster(3);
    const client = connect(cluster.urls, { writeConsistency: 'all', timeout: 2000 });
    await client.setMany(Array.from({ length: 30 }, (_, i) => [`k${i}`, i] as const));
    const dead = cluster.nodes[1]!;
    await dead.kill();
    const error = await client.flush().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isFlushIncompleteError(error)).toBe(true);
    const incomplete = error as FlushIncompleteError;
    expect(incomplete.nodes).toEqual([dead.url]);
    expect(incomplete.errors).toHaveLength(1);
    expect([...incomplete.flushed].sort()).toEqual(
      [cluster.nodes[0]!.url, cluster.nodes[2]!.url].sort(),
    );
    expect(incomplete.message).toContain(`flush emptied 2 of 3 nodes; not ${dead.url}`);
    expect(cluster.nodes[0]!.server.cache.size).toBe(0);
    expect(cluster.nodes[2]!.server.cache.size).toBe(0);
    await client.close();
  });

  it('asks a node marked down too: once it is back, it is emptied', async () => {
    cluster = await startCluster(3);
    const client = connect(cluster.urls, {
      failureThreshold: 1,
      probeInterval: 60_000, // the probe must not be what brings it back in this test
      timeout: 2000,
    });
    const node = cluster.nodes[0]!;
    await node.kill();
    await expect(client.flush()).rejects.toThrow(/not flushed|flush emptied 2 of 3/);
    const stats = await client.getStats();
    expect(stats.down).toBe(1);
    await node.restart();
    node.server.cache.set('stale', { bytes: new Uint8Array([1]), flags: 0 });
    await client.flush();
    expect(node.server.cache.size).toBe(0);
    await client.close();
  });

  it('rejects when a node refuses it (a wrong token), naming that node', async () => {
    cluster = await startCluster(2, { token: 'right' });
    const client = connect(cluster.urls, { token: 'wrong' });
    const error = await client.flush().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isFlushIncompleteError(error)).toBe(true);
    expect([...(error as FlushIncompleteError).nodes].sort()).toEqual([...cluster.urls].sort());
    expect((error as FlushIncompleteError).flushed).toEqual([]);
    await client.close();
  });
});
