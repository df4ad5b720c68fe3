import { afterEach, describe, expect, it } from 'vitest';
import { connect, startCluster, TestNode, waitFor } from './cluster.js';
import type { TestCluster } from './cluster.js';

let cluster: TestCluster | undefined;
const extra: TestNode[] = [];
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
  for (const node of extra.splice(0)) await node.kill();
});

const KEYS = Array.from({ length: 300 }, (_, i) => `member:${i}`);

describe('addNode / removeNode', () => {
  it('a node added at run time takes its share of keys; none is lost, and reads fill it', async () => {
    cluster = await startCluster(2);
    const client = connect(cluster.urls, { replicas: 2, writeConsistency: 'all' });
    expect(await client.setMany(KEYS.map((key) => [key, key] as const))).toBe(true);
    const added = await TestNode.start();
    extra.push(added);
    client.addNode(`${added.url}/`); // normalised like the constructor's URLs
    expect(client.nodes).toStrictEqual([...cluster.urls, added.url]);
    const moved = KEYS.filter((key) => client.nodesFor(key).includes(added.url));
    // Its share of 300 keys, each with 2 of 3 nodes: about 200; far from none and from all.
    expect(moved.length).toBeGreaterThan(100);
    expect(moved.length).toBeLessThan(300);
    const found = await client.getMany(KEYS);
    expect(KEYS.filter((key) => found.get(key) !== key)).toStrictEqual([]);
    // Read repair wrote the keys it is now the primary of to it (a read stops at the first hit, so
    // keys where it is the second replica wait for their next write).
    const owned = moved.filter((key) => client.nodesFor(key)[0] === added.url);
    expect(owned.length).toBeGreaterThan(50);
    await waitFor(
      () => owned.every((key) => added.entry(key) !== undefined),
      'the new node to hold the keys it is primary of',
    );
    // Writes now reach it, and 'all' counts the new replica count.
    expect(await client.set('after-add', 1)).toBe(true);
    await client.close();
  });

  it('a removed node gets no more requests, and every key stays readable from its replicas', async () => {
    cluster = await startCluster(3);
    const client = connect(cluster.urls, { replicas: 2, writeConsistency: 'all' });
    expect(await client.setMany(KEYS.map((key) => [key, key] as const))).toBe(true);
    const leaving = cluster.nodes[0]!;
    expect(await client.removeNode(leaving.url)).toBe(true);
    expect(client.nodes).not.toContain(leaving.url);
    const before = await leaving.batchRequests();
    const found = await client.getMany(KEYS);
    expect(KEYS.filter((key) => found.get(key) !== key)).toStrictEqual([]);
    for (const key of KEYS.slice(0, 50)) expect(client.nodesFor(key)).not.toContain(leaving.url);
    expect(await client.set('after-remove', 1)).toBe(true);
    await client.flush();
    // Nothing went to it after its removal, not even the flush of every node.
    expect(await leaving.batchRequests()).toBe(before);
    expect(leaving.server.cache.size).toBeGreaterThan(0);
    expect(await client.removeNode(leaving.url)).toBe(false);
    await client.close();
  });

  it('removeNode lets what was issued to the node finish first', async () => {
    cluster = await startCluster(2);
    const client = connect(cluster.urls, { replicas: 2, writeConsistency: 'one' });
    const leaving = cluster.nodes[1]!;
    // Issued before the removal, to both replicas: the leaving node's copy is still queued.
    const write = client.set('in-flight', 'v');
    expect(await client.removeNode(leaving.url)).toBe(true);
    expect(leaving.entry('in-flight')).toBeDefined(); // landed before removeNode resolved
    expect(await write).toBe(true);
    await client.close();
  });

  it('refuses a malformed URL, a node already there and the last node', async () => {
    cluster = await startCluster(1);
    const client = connect(cluster.urls);
    expect(() => client.addNode('not a url')).toThrow(TypeError);
    expect(() => client.addNode('ftp://127.0.0.1:1')).toThrow(/http: or https:/);
    expect(() => client.addNode(`${cluster!.urls[0]!}/`)).toThrow(RangeError);
    await expect(client.removeNode(cluster.urls[0]!)).rejects.toThrow(/last node/);
    await expect(client.removeNode('http://127.0.0.1:1')).resolves.toBe(false);
    expect(client.nodes).toStrictEqual(cluster.urls);
    await client.close();
    expect(() => client.addNode('http://127.0.0.1:2')).toThrow(/closed/);
  });
});
