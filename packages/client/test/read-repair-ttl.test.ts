import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, startCluster, waitFor } from './cluster.js';
import type { TestCluster, TestNode } from './cluster.js';

// The nodes' default TTL is NOT "never expires": a repair that sent no TTL (null on the wire, the
// node's default) instead of 0 for a never-expiring entry would leave a copy that expires.
const DEFAULT_TTL = 600_000;

// One frozen clock for every node, moved by hand: remaining TTLs are exact, nothing sleeps.
let now = 1_000_000_000;
const clock = (): number => now;

let cluster: TestCluster;
beforeAll(async () => {
  cluster = await startCluster(3, { defaultTtl: DEFAULT_TTL, now: clock });
});
afterAll(() => cluster.close());

function nodeOf(url: string): TestNode {
  return cluster.nodes.find((node) => node.url === url)!;
}

/**
 * The node loses the key (as by an eviction or a restart): not a delete, which would leave a
 * tombstone newer than the value, so that the read rightly answers a miss.
 */
async function deleteOn(node: TestNode, key: string): Promise<void> {
  expect(node.server.cache.delete(key)).toBe(true);
  return Promise.resolve();
}

/**
 * Writes `key` to both replicas, lets the clock run `elapsedMs`, deletes the primary's copy and
 * reads the key through the cluster; resolves once the read repair refilled the primary.
 */
async function repairAfterPrimaryLoss(
  key: string,
  ttl: number,
  elapsedMs: number,
  batch: boolean,
): Promise<{ primary: TestNode; secondary: TestNode }> {
  const client = connect(cluster.urls, { replicas: 2, writeConsistency: 'all', batch });
  expect(await client.set(key, { key }, { ttl })).toBe(true);
  const [primary, secondary] = client.nodesFor(key).map(nodeOf) as [TestNode, TestNode];
  now += elapsedMs;
  await deleteOn(primary, key);
  expect(primary.entry(key)).toBeUndefined();
  expect(await client.get(key)).toStrictEqual({ key });
  await waitFor(() => primary.entry(key) !== undefined, 'the read repair of the primary');
  await client.close();
  // The repaired copy is the replica's bytes and flags.
  expect(primary.entry(key)!.value).toStrictEqual(secondary.entry(key)!.value);
  return { primary, secondary };
}

describe('read repair keeps the remaining TTL', () => {
  it("the nodes' default TTL applies to a write without one (so 0 and null differ here)", async () => {
    const client = connect(cluster.urls, { replicas: 1 });
    await client.set('default-ttl', 1);
    await client.close();
    const [holder] = client.nodesFor('default-ttl').map(nodeOf);
    expect(holder!.entry('default-ttl')!.ttl).toBe(DEFAULT_TTL);
  });

  it.each([true, false])(
    'a never-expiring entry is repaired as never expiring, not with the default (batch: %s)',
    async (batch) => {
      const key = `forever:${String(batch)}`;
      const { primary, secondary } = await repairAfterPrimaryLoss(key, 0, 5_000, batch);
      expect(secondary.entry(key)!.ttl).toBeUndefined();
      expect(primary.entry(key)!.ttl).toBeUndefined();
    },
  );

  it.each([true, false])(
    'a finite TTL is repaired with what is left of it, not the original (batch: %s)',
    async (batch) => {
      const key = `finite:${String(batch)}`;
      const { primary, secondary } = await repairAfterPrimaryLoss(key, 120_000, 50_000, batch);
      const left = secondary.entry(key)!.ttl!;
      expect(left).toBe(70_000);
      const repaired = primary.entry(key)!.ttl!;
      expect(repaired).toBeGreaterThan(0);
      expect(repaired).toBeLessThanOrEqual(left);
      // The clock stood still since the read: exactly the remaining time was sent.
      expect(repaired).toBe(left);
    },
  );

  it('a TTL past 2^31-1 ms (30 days, as memcached allows) is written and repaired whole', async () => {
    const thirtyDays = 30 * 24 * 3600 * 1000;
    const key = 'month-long';
    const { primary, secondary } = await repairAfterPrimaryLoss(key, thirtyDays, 1000, true);
    expect(secondary.entry(key)!.ttl).toBe(thirtyDays - 1000);
    expect(primary.entry(key)!.ttl).toBe(thirtyDays - 1000);
  });
});

describe('getAndTouch', () => {
  it('gives every replica the new TTL, also the primary a read repair refills', async () => {
    const client = connect(cluster.urls, { replicas: 3, writeConsistency: 'all' });
    const key = 'session';
    await client.set(key, 'v', { ttl: 1000 });
    const [primary, ...others] = client.nodesFor(key).map(nodeOf) as TestNode[];
    now += 800;
    expect(await client.getAndTouch(key, 5000)).toBe('v');
    await client.close(); // lets the background touches of the other replicas land
    for (const node of [primary!, ...others]) expect(node.entry(key)!.ttl).toBe(5000);

    const again = connect(cluster.urls, { replicas: 3, writeConsistency: 'all' });
    await deleteOn(primary!, key);
    now += 100;
    expect(await again.getAndTouch(key, 0)).toBe('v'); // the next replica answers and touches
    await again.close();
    for (const node of [primary!, ...others]) expect(node.entry(key)!.ttl).toBeUndefined();
    const third = connect(cluster.urls);
    expect(await third.getAndTouch('no-such-key', 1000)).toBeUndefined();
    await third.close();
  });

  it('leaves every replica under one stamp, so a version read anywhere is the same', async () => {
    const client = connect(cluster.urls, { replicas: 3, writeConsistency: 'all' });
    const key = 'gat-stamp';
    await client.set(key, 'v', { ttl: 1000 });
    const replicas = client.nodesFor(key).map(nodeOf);
    expect(await client.getAndTouch(key, 5000)).toBe('v');
    await client.close(); // lets the background touches of the other replicas land
    const stamps = replicas.map((node) => node.entry(key)!.value.stamp);
    expect(new Set(stamps).size, `stamps ${stamps.join(', ')}`).toBe(1);
  });
});
