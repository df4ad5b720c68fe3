import { writeFingerprint } from '@dcache/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FLAGS_JSON, FLAGS_MSGPACK } from '../src/index.js';
import { connect, holders, startCluster, waitFor } from './cluster.js';
import type { TestCluster, TestNode } from './cluster.js';

let cluster: TestCluster;
beforeAll(async () => {
  cluster = await startCluster(3);
});
afterAll(() => cluster.close());

function nodeOf(url: string): TestNode {
  return cluster.nodes.find((node) => node.url === url)!;
}

describe('replication', () => {
  it("writeConsistency 'all': every replica holds the key when set resolves, the third node does not", async () => {
    const client = connect(cluster.urls, { writeConsistency: 'all' });
    for (let i = 0; i < 50; i++) {
      const key = `all:${i}`;
      expect(await client.set(key, i)).toBe(true);
      const replicas = client.nodesFor(key);
      expect(replicas).toHaveLength(2);
      expect(holders(cluster.nodes, key)).toStrictEqual(
        cluster.urls.filter((url) => replicas.includes(url)),
      );
    }
    await client.close();
  });

  it("writeConsistency 'one' resolves early but the other replica writes still complete", async () => {
    const client = connect(cluster.urls, { writeConsistency: 'one' });
    const keys = Array.from({ length: 50 }, (_, i) => `one:${i}`);
    expect(await Promise.all(keys.map((key) => client.set(key, key)))).toStrictEqual(
      keys.map(() => true),
    );
    const expected = new Map(keys.map((key) => [key, client.nodesFor(key)]));
    // close() waits for background replica writes: afterwards every copy must be there.
    await client.close();
    for (const [key, replicas] of expected) {
      expect(holders(cluster.nodes, key).sort()).toStrictEqual([...replicas].sort());
    }
  });

  it('replicas: 3 with quorum writes to every node', async () => {
    const client = connect(cluster.urls, {
      replicas: 3,
      writeConsistency: 'quorum',
    });
    expect(await client.set('everywhere', 'x')).toBe(true);
    await client.close();
    expect(holders(cluster.nodes, 'everywhere')).toStrictEqual(cluster.urls);
  });

  it('delete removes every replica and says whether the key existed', async () => {
    const client = connect(cluster.urls, { writeConsistency: 'all' });
    await client.set('doomed', 'x');
    expect(holders(cluster.nodes, 'doomed')).toHaveLength(2);
    expect(await client.delete('doomed')).toBe(true);
    expect(holders(cluster.nodes, 'doomed')).toStrictEqual([]);
    expect(await client.delete('doomed')).toBe(false);
    await client.close();
  });

  it('reads fall back to the next replica on a miss and repair the primary with TTL and flags', async () => {
    const client = connect(cluster.urls, { writeConsistency: 'all' });
    await client.set('repair-me', { n: 1 }, { ttl: 60_000 });
    const [primary, secondary] = client.nodesFor('repair-me').map(nodeOf) as [TestNode, TestNode];
    primary.server.cache.delete('repair-me');
    expect(await client.get('repair-me')).toStrictEqual({ n: 1 });
    await waitFor(() => primary.entry('repair-me') !== undefined, 'the primary to be repaired');
    const repaired = primary.entry('repair-me')!;
    expect(repaired.value.flags).toBe(FLAGS_MSGPACK);
    expect(repaired.value.bytes).toStrictEqual(secondary.entry('repair-me')!.value.bytes);
    expect(repaired.ttl).toBeGreaterThan(50_000);
    expect(repaired.ttl).toBeLessThanOrEqual(60_000);
    await client.close();
  });

  it("getVersioned after a read repair returns the write's fingerprint, which the repaired primary takes", async () => {
    const client = connect(cluster.urls, { writeConsistency: 'all' });
    await client.set('repair-cas', 'v1');
    const [primary] = client.nodesFor('repair-cas').map(nodeOf) as [TestNode, TestNode];
    primary.server.cache.delete('repair-cas');
    const entry = await client.getVersioned<string>('repair-cas');
    expect(entry?.value).toBe('v1');
    // Awaited: the primary holds the write again, and the version names that write on both.
    const repaired = primary.entry('repair-cas')!.value;
    expect(entry?.version).toBe(writeFingerprint(repaired.stamp!, repaired.flags, repaired.bytes));
    expect(await client.compareAndSet('repair-cas', 'v2', entry!.version)).toBe(true);
    expect(await client.get('repair-cas')).toBe('v2');
    await client.close();
  });

  it('read repair copies a value written by curl as JSON byte for byte, flags included', async () => {
    const client = connect(cluster.urls);
    const [primary, secondary] = client.nodesFor('curl-json').map(nodeOf) as [TestNode, TestNode];
    // Written only to the replica, as `curl -X PUT -H 'content-type: application/json'` would.
    const put = await fetch(`${secondary.url}/v1/keys/curl-json`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: '{"a":[1,2],"b":{"c":true}}',
    });
    expect(put.status).toBe(204);
    const value = await client.get('curl-json');
    expect(value).toStrictEqual({ a: [1, 2], b: { c: true } });
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    await client.close();
    const repaired = primary.entry('curl-json')!;
    expect(repaired.value.flags).toBe(FLAGS_JSON);
    expect(repaired.ttl).toBeUndefined();
  });

  it('read repair writes only to the replicas that were asked and missed, not to later ones', async () => {
    const client = connect(cluster.urls, { replicas: 3 });
    await client.set('partial', 'v');
    await client.close();
    const [primary, , third] = client.nodesFor('partial').map(nodeOf) as [
      TestNode,
      TestNode,
      TestNode,
    ];
    primary.server.cache.delete('partial');
    third.server.cache.delete('partial');
    const reader = connect(cluster.urls, { replicas: 3 });
    expect(await reader.get('partial')).toBe('v');
    // close() waits for the repair writes still running.
    await reader.close();
    expect(primary.entry('partial')).toBeDefined();
    // The read stopped at the second replica: the third was never asked, so it is not written.
    expect(third.entry('partial')).toBeUndefined();
  });

  it("incr answers with the primary's count when the replicas' counts differ", async () => {
    const client = connect(cluster.urls, { replicas: 2 });
    await client.set('drift', 10);
    const [, secondary] = client.nodesFor('drift').map(nodeOf) as [TestNode, TestNode];
    // The secondary alone (a client that knows only it) drifts to another count.
    const direct = connect([secondary.url], { replicas: 1 });
    await direct.set('drift', 100);
    await direct.close();
    expect(await client.incr('drift', 1)).toBe(11);
    expect(await client.decr('drift', 2)).toBe(9);
    await client.close();
  });

  it('a read that finds the value on the primary repairs nothing', async () => {
    const client = connect(cluster.urls, { replicas: 2 });
    await client.set('hot', 1);
    await client.close();
    const [, secondary] = client.nodesFor('hot').map(nodeOf) as [TestNode, TestNode];
    secondary.server.cache.delete('hot');
    const reader = connect(cluster.urls);
    expect(await reader.get('hot')).toBe(1);
    await reader.close();
    expect(secondary.entry('hot')).toBeUndefined();
  });
});
