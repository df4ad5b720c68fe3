import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DistributedCacheClient } from '../src/index.js';
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
});
