import { afterEach, describe, expect, it } from 'vitest';
import type { DistributedCacheClient } from '../src/index.js';
import { isCacheUnavailableError } from '../src/index.js';
import { connect, startCluster, waitFor } from './cluster.js';
import type { TestCluster, TestNode } from './cluster.js';

let cluster: TestCluster | undefined;
let client: DistributedCacheClient | undefined;
afterEach(async () => {
  await client?.close();
  await cluster?.close();
  client = undefined;
  cluster = undefined;
});

const OPTIONS = { replicas: 2, failureThreshold: 2, probeInterval: 20 } as const;

describe('failover', () => {
  it('a dead node loses no key with replicas = 2, writes keep succeeding, and it is repaired when back', async () => {
    cluster = await startCluster(3);
    client = connect(cluster.urls, { ...OPTIONS, writeConsistency: 'all' });
    const keys = Array.from({ length: 600 }, (_, i) => `fo:${i}`);
    expect(
      await client.setMany(
        keys.map((key) => [key, { key }]),
        { ttl: 120_000 },
      ),
    ).toBe(true);
    const victim = cluster.nodes[1]!;
    const primaryOnVictim = keys.filter((key) => client!.nodesFor(key)[0] === victim.url);
    expect(primaryOnVictim.length).toBeGreaterThan(100);

    await victim.kill();

    let lost = 0;
    for (const key of keys) {
      if (((await client.get<{ key: string }>(key))?.key ?? 'lost') !== key) lost++;
    }
    expect(lost).toBe(0);
    // The refused connections marked it down; its keys now go to the next nodes on the ring.
    expect((await client.getStats()).nodes.map((node) => node.up)).toStrictEqual([
      true,
      false,
      true,
    ]);
    for (const key of keys.slice(0, 50)) expect(client.nodesFor(key)).not.toContain(victim.url);

    const fresh = Array.from({ length: 200 }, (_, i) => `fo-new:${i}`);
    expect(await Promise.all(fresh.map((key) => client!.set(key, key)))).toStrictEqual(
      fresh.map(() => true),
    );
    const readBack = await client.getMany(fresh);
    expect(readBack.size).toBe(fresh.length);
    expect((await client.getMany(keys)).size).toBe(keys.length);

    // Back, empty, on the same port: the probe notices and reads repair it.
    await victim.restart();
    await waitFor(
      () => client!.nodesFor(primaryOnVictim[0]!)[0] === victim.url,
      'the probe to mark the node up',
    );
    expect(await client.getMany(primaryOnVictim)).toHaveProperty('size', primaryOnVictim.length);
    await waitFor(
      () => primaryOnVictim.every((key) => victim.entry(key) !== undefined),
      'read repair to refill the restarted primary',
    );
    for (const key of primaryOnVictim) {
      const ttl = victim.entry(key)!.ttl!;
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(120_000);
    }
  });

  it('getMany returns what the reachable nodes hold when a node fails mid-way (replicas = 1)', async () => {
    cluster = await startCluster(3);
    client = connect(cluster.urls, { ...OPTIONS, replicas: 1 });
    const keys = Array.from({ length: 90 }, (_, i) => `gm:${i}`);
    await client.setMany(keys.map((key) => [key, key]));
    const dead = cluster.nodes[0]!;
    const deadKeys = new Set(keys.filter((key) => client!.nodesFor(key)[0] === dead.url));
    expect(deadKeys.size).toBeGreaterThan(0);
    await dead.kill();
    const found = await client.getMany(keys);
    expect(found).toStrictEqual(
      new Map(keys.filter((key) => !deadKeys.has(key)).map((key) => [key, key])),
    );
  });

  it('when every replica is unreachable a call rejects with CacheUnavailableError naming them', async () => {
    cluster = await startCluster(2);
    client = connect(cluster.urls, { ...OPTIONS, failureThreshold: 100 });
    await cluster.close();
    const error: unknown = await client.get('k').catch((e: unknown) => e);
    expect(isCacheUnavailableError(error)).toBe(true);
    expect(error).toMatchObject({ key: 'k', nodes: client.nodesFor('k') });
    expect((error as { errors: unknown[] }).errors).toHaveLength(2);
    await expect(client.set('k', 1)).rejects.toThrow(/no replica of key "k" is reachable/);
    await expect(client.delete('k')).rejects.toSatisfy(isCacheUnavailableError);
    await expect(client.incr('k')).rejects.toSatisfy(isCacheUnavailableError);
    await expect(client.add('k', 1)).rejects.toSatisfy(isCacheUnavailableError);
    expect(await client.getMany(['k', 'j'])).toStrictEqual(new Map());
    expect(await client.setMany([['k', 1]])).toBe(false);
  });

  it('once every node is marked down, calls fail at once, naming the key’s replicas', async () => {
    cluster = await startCluster(2);
    client = connect(cluster.urls, {
      ...OPTIONS,
      failureThreshold: 1,
      probeInterval: 60_000,
    });
    await cluster.close();
    await client.get('a').catch(() => undefined);
    await client.get('a').catch(() => undefined);
    const stats = await client.getStats();
    expect(stats.down).toBe(2);
    expect(stats.nodes.every((node) => node.error !== undefined)).toBe(true);
    const error: unknown = await client.get('b').catch((e: unknown) => e);
    expect(isCacheUnavailableError(error)).toBe(true);
    expect((error as Error).message).toContain('all marked down');
    expect((error as { nodes: string[] }).nodes.sort()).toStrictEqual([...cluster.urls].sort());
  });

  it('getStats reports a node marked down as down even while it answers its stats again', async () => {
    cluster = await startCluster(2);
    const [dead, live] = cluster.nodes as [TestNode, TestNode];
    client = connect(cluster.urls, {
      replicas: 1,
      failureThreshold: 1,
      probeInterval: 60_000,
    });
    let key = 'k:0';
    for (let i = 1; client.nodesFor(key)[0] !== dead.url; i++) key = `k:${i}`;
    await dead.kill();
    await client.get(key).catch(() => undefined);
    // Back on the same port, but no probe has run yet: the client still has it marked down.
    await dead.restart();
    const stats = await client.getStats();
    expect(stats.nodes.map(({ node, up }) => ({ node, up }))).toStrictEqual([
      { node: dead.url, up: false },
      { node: live.url, up: true },
    ]);
    expect(stats.nodes.every((status) => status.stats !== undefined)).toBe(true);
    expect([stats.up, stats.down]).toStrictEqual([1, 1]);
  });
});
