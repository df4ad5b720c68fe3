import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DistributedCacheClient } from '../src/index.js';
import { isOperationRejectedError } from '../src/index.js';
import { connect, startCluster } from './cluster.js';
import type { TestCluster } from './cluster.js';

let cluster: TestCluster;
beforeAll(async () => {
  cluster = await startCluster(3);
});
afterAll(() => cluster.close());

/** Batch requests each node served while `work` ran. */
async function requestsDuring(work: () => Promise<unknown>): Promise<number[]> {
  const before = await Promise.all(cluster.nodes.map((node) => node.batchRequests()));
  await work();
  const after = await Promise.all(cluster.nodes.map((node) => node.batchRequests()));
  return after.map((count, i) => count - before[i]!);
}

/** How many of `keys` each node is primary for. */
function keysPerNode(client: DistributedCacheClient, keys: string[]): number[] {
  return cluster.urls.map((url) => keys.filter((key) => client.nodesFor(key)[0] === url).length);
}

const KEYS = Array.from({ length: 60 }, (_, i) => `batched:${i}`);

describe('auto-batching', () => {
  it('operations issued in the same tick travel as one POST /v1/batch per node', async () => {
    const client = connect(cluster.urls, { replicas: 1 });
    const sets = await requestsDuring(() =>
      Promise.all(KEYS.map((key) => client.set(key, `v-${key}`))),
    );
    expect(sets).toStrictEqual(keysPerNode(client, KEYS).map((n) => (n > 0 ? 1 : 0)));

    let values: unknown[] = [];
    const gets = await requestsDuring(async () => {
      values = await Promise.all(KEYS.map((key) => client.get(key)));
    });
    expect(gets).toStrictEqual(sets);
    // Each caller got its own answer.
    expect(values).toStrictEqual(KEYS.map((key) => `v-${key}`));
    await client.close();
  });

  it('getBatchingStats counts the batches the nodes served and the operations they carried', async () => {
    const client = connect(cluster.urls, { replicas: 1 });
    const served = await requestsDuring(() => Promise.all(KEYS.map((key) => client.get(key))));
    const stats = client.getBatchingStats();
    expect(stats.batches).toBe(served.reduce((sum, count) => sum + count, 0));
    expect(stats.operations).toBe(KEYS.length);
    expect(stats.inFlightMs).toBeGreaterThan(0);
    expect((await client.getStats()).batching.batches).toBe(stats.batches);
    await client.close();
  });

  it('splits a tick bigger than maxBatchSize', async () => {
    const client = connect(cluster.urls, { replicas: 1, maxBatchSize: 8 });
    const counts = await requestsDuring(() => Promise.all(KEYS.map((key) => client.get(key))));
    expect(counts).toStrictEqual(keysPerNode(client, KEYS).map((n) => Math.ceil(n / 8)));
    await client.close();
  });

  it('with batch: false every operation is its own request', async () => {
    const client = connect(cluster.urls, { replicas: 1, batch: false });
    const counts = await requestsDuring(() => Promise.all(KEYS.map((key) => client.get(key))));
    expect(counts).toStrictEqual(keysPerNode(client, KEYS));
    await client.close();
  });

  it('getMany / setMany / deleteMany batch per node even with batch: false', async () => {
    const client = connect(cluster.urls, { replicas: 1, batch: false });
    const oncePerNode = keysPerNode(client, KEYS).map((n) => (n > 0 ? 1 : 0));
    const entries = KEYS.map((key, i) => [key, i] as const);
    expect(await requestsDuring(() => client.setMany(entries))).toStrictEqual(oncePerNode);
    let found = new Map<string, unknown>();
    const gets = await requestsDuring(async () => {
      found = await client.getMany(KEYS);
    });
    expect(gets).toStrictEqual(oncePerNode);
    expect(found).toStrictEqual(new Map(entries));
    let deleted = 0;
    const deletes = await requestsDuring(async () => {
      deleted = await client.deleteMany(KEYS);
    });
    expect(deletes).toStrictEqual(oncePerNode);
    expect(deleted).toBe(KEYS.length);
    await client.close();
  });

  it("splits batches by bytes below the nodes' body limit, so big values are never refused as a batch", async () => {
    // Nodes that take bodies of at most 64 KiB; 24 values of 20 KiB are 480 KiB in all.
    const small = await startCluster(3, { maxBatchBytes: 64 * 1024, maxValueBytes: 32 * 1024 });
    try {
      const client = connect(small.urls, { replicas: 1, maxBatchBytes: 64 * 1024 });
      const entries = Array.from(
        { length: 24 },
        (_, i) => [`big:${i}`, 'x'.repeat(20_000)] as const,
      );
      const before = await Promise.all(small.nodes.map((node) => node.batchRequests()));
      expect(await client.setMany(entries)).toBe(true);
      const after = await Promise.all(small.nodes.map((node) => node.batchRequests()));
      // Three of these values (with their framing) fit in 64 KiB, four do not.
      const perNode = small.urls.map(
        (url) => entries.filter(([key]) => client.nodesFor(key)[0] === url).length,
      );
      expect(after.map((count, i) => count - before[i]!)).toStrictEqual(
        perNode.map((n) => Math.ceil(n / 3)),
      );
      // Reading them back together overflows the nodes' 64 KiB cap on a batch answer's values:
      // the gets past it come back 413 and are asked again in later batches.
      const beforeGets = await Promise.all(small.nodes.map((node) => node.batchRequests()));
      const found = await client.getMany(entries.map(([key]) => key));
      expect(found).toStrictEqual(new Map(entries));
      const afterGets = await Promise.all(small.nodes.map((node) => node.batchRequests()));
      // Asked again in later batches, three at a time — not a request per refused value.
      afterGets.forEach((count, i) => {
        expect(count - beforeGets[i]!).toBeLessThanOrEqual(Math.ceil(perNode[i]! / 3) + 1);
      });
      await client.close();
    } finally {
      await small.close();
    }
  });

  it('a value a node refuses rejects setMany with that refusal; the other entries are written', async () => {
    const small = await startCluster(3, { maxValueBytes: 1024 });
    try {
      const client = connect(small.urls, { replicas: 1 });
      const entries = [
        ['fits:0', 'a'],
        ['too-big', 'x'.repeat(4096)],
        ['fits:1', 'b'],
      ] as const;
      const error: unknown = await client.setMany(entries).catch((e: unknown) => e);
      expect(isOperationRejectedError(error)).toBe(true);
      expect(error).toMatchObject({ key: 'too-big', status: 413 });
      expect(await client.getMany(['fits:0', 'fits:1', 'too-big'])).toStrictEqual(
        new Map([
          ['fits:0', 'a'],
          ['fits:1', 'b'],
        ]),
      );
      await client.close();
    } finally {
      await small.close();
    }
  });
});
