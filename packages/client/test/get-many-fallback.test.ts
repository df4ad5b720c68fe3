import { afterEach, describe, expect, it } from 'vitest';
import { HashRing } from '@dcache/ring';
import { connect, startCluster } from './cluster.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const KEYS = Array.from({ length: 300 }, (_, i) => `gmf:${i}`);

/**
 * Three nodes holding KEYS (value = the key) with `replicas` copies, then one node killed
 * before the client has seen it fail: the client still considers it up.
 */
async function oneNodeDiesUnnoticed(replicas: number, failureThreshold: number) {
  const cluster = await startCluster(3);
  cleanups.push(() => cluster.close());
  const client = connect(cluster.urls, {
    replicas,
    failureThreshold,
    probeInterval: 60_000,
    writeConsistency: 'all',
  });
  cleanups.push(() => client.close());
  expect(await client.setMany(KEYS.map((key) => [key, key]))).toBe(true);
  const dead = cluster.nodes[1]!;
  const ring = new HashRing(cluster.urls);
  const onDead = KEYS.filter((key) => ring.getN(key, replicas).includes(dead.url));
  const primaryOnDead = KEYS.filter((key) => ring.getN(key, 1)[0] === dead.url);
  expect(primaryOnDead.length).toBeGreaterThan(50);
  await dead.kill();
  // Not marked down yet: the dead node is still first in line for its keys.
  expect(client.nodesFor(primaryOnDead[0]!)[0]).toBe(dead.url);
  return { client, dead: dead.url, onDead, primaryOnDead };
}

describe('getMany when a node fails during the call', () => {
  it('with replicas 2, every key comes back from its other replica in that one call', async () => {
    const { client, dead, primaryOnDead } = await oneNodeDiesUnnoticed(2, 100);
    const found = await client.getMany(KEYS);
    expect(found).toStrictEqual(new Map(KEYS.map((key) => [key, key])));
    // A few failed requests, far below the threshold of 100: the node is still considered up.
    for (const key of primaryOnDead) expect(client.nodesFor(key)[0]).toBe(dead);
    expect((await client.getStats()).nodes.map((node) => node.up)).toStrictEqual([
      true,
      true,
      true,
    ]);
  });

  it('with failureThreshold 1 the same call loses nothing and leaves the node marked down', async () => {
    const { client, dead, primaryOnDead } = await oneNodeDiesUnnoticed(2, 1);
    const found = await client.getMany(KEYS);
    expect(found).toStrictEqual(new Map(KEYS.map((key) => [key, key])));
    for (const key of primaryOnDead) expect(client.nodesFor(key)).not.toContain(dead);
    expect((await client.getStats()).nodes.map((node) => node.up)).toStrictEqual([
      true,
      false,
      true,
    ]);
  });

  it("with replicas 1, exactly the dead node's keys are left out, without rejecting", async () => {
    const { client, onDead } = await oneNodeDiesUnnoticed(1, 100);
    const lost = new Set(onDead);
    const found = await client.getMany(KEYS);
    expect(found).toStrictEqual(
      new Map(KEYS.filter((key) => !lost.has(key)).map((key) => [key, key])),
    );
    expect(found.size).toBe(KEYS.length - lost.size);
  });
});
