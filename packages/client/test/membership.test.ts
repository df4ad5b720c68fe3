import { afterEach, describe, expect, it } from 'vitest';
import type { DistributedCacheClient } from '../src/index.js';
import { connect, startCluster, startHoldingProxy, TestNode, waitFor } from './cluster.js';
import type { TestCluster } from './cluster.js';

let cluster: TestCluster | undefined;
const extra: TestNode[] = [];
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
  for (const node of extra.splice(0)) await node.kill();
});

const KEYS = Array.from({ length: 300 }, (_, i) => `member:${i}`);

/** A key whose replica list starts with `url`. */
function keyLedBy(client: DistributedCacheClient, url: string, prefix: string): string {
  for (let i = 0; ; i++) {
    if (client.nodesFor(`${prefix}:${i}`)[0] === url) return `${prefix}:${i}`;
  }
}

/** A stored value as @dcache/client writes a short string (so `get` decodes it). */
async function storeOn(node: TestNode, key: string, value: string): Promise<void> {
  const single = connect([node.url], { replicas: 1 });
  await single.set(key, value);
  await single.close();
}

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
    // Writes succeed with 'all' once it is in the lists.
    expect(await client.set('after-add', 1)).toBe(true);
    await client.close();
  });

  // Without a transition window (warm-transition.test.ts covers the window, during which a removed
  // node is still asked on a miss and its copies are invalidated).
  it('a removed node gets no more requests, and every key stays readable from its replicas', async () => {
    cluster = await startCluster(3);
    const client = connect(cluster.urls, {
      replicas: 2,
      writeConsistency: 'all',
      transition: { maxWindowMs: 0 },
    });
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

  it('replicas and the writeConsistency acknowledgements follow the node count', async () => {
    cluster = await startCluster(2);
    const client = connect(cluster.urls, { replicas: 3, writeConsistency: 'all' });
    const added = await TestNode.start();
    extra.push(added);
    client.addNode(added.url);
    expect(client.nodesFor('three')).toHaveLength(3);
    expect(await client.set('three', 3)).toBe(true);
    const holders = [...cluster.nodes, added].filter((node) => node.entry('three') !== undefined);
    expect(holders).toHaveLength(3);
    // Back to two nodes: 'all' means two acknowledgements, and a set is complete again.
    expect(await client.removeNode(cluster.urls[0]!)).toBe(true);
    expect(await client.set('two', 2)).toBe(true);
    await client.close();
  });

  it('an operation running when its next replica is removed does not send to it', async () => {
    cluster = await startCluster(2);
    const [p, b] = cluster.nodes as [TestNode, TestNode];
    const slowP = await startHoldingProxy(p.url);
    try {
      // Without a transition window, which would ask b as a previous owner (and find the key).
      const client = connect([slowP.url, b.url], { replicas: 2, transition: { maxWindowMs: 0 } });
      const key = keyLedBy(client, slowP.url, 'running');
      await storeOn(b, key, 'on b only');
      const read = client.get(key); // waits on p's held answer, then would ask b
      await waitFor(() => slowP.held() === 1, "p's answer to be held");
      const before = await b.batchRequests();
      expect(await client.removeNode(b.url)).toBe(true);
      slowP.release();
      expect(await read).toBeUndefined(); // b is no longer in the cluster
      expect(await b.batchRequests()).toBe(before);
      await client.close();
    } finally {
      await slowP.close();
    }
  });

  it('close() during removeNode waits for the leaving node, so a running read completes', async () => {
    cluster = await startCluster(3);
    const [p, c] = cluster.nodes as [TestNode, TestNode, TestNode];
    const slowP = await startHoldingProxy(p.url);
    try {
      const urls = [slowP.url, c.url, cluster.urls[2]!];
      const client = connect(urls, { replicas: 2 });
      let key = keyLedBy(client, slowP.url, 'closing');
      for (let i = 0; client.nodesFor(key)[1] !== c.url; i++) {
        key = keyLedBy(client, slowP.url, `closing${i}`);
      }
      await storeOn(c, key, 'v');
      const read = client.get(key); // p misses (held), then c answers
      await waitFor(() => slowP.held() === 1, "p's answer to be held");
      const removing = client.removeNode(slowP.url);
      const closing = client.close();
      // A few turns: a close() that did not wait for the leaving node has closed the connections
      // by now, and the read's next request (to c) would fail.
      for (let turn = 0; turn < 5; turn++) await new Promise((resolve) => setImmediate(resolve));
      slowP.release();
      expect(await read).toBe('v');
      expect(await removing).toBe(true);
      await closing;
    } finally {
      await slowP.close();
    }
  });

  it('a node being removed is not reported down by the requests still running on it', async () => {
    cluster = await startCluster(2);
    const [p, b] = cluster.nodes as [TestNode, TestNode];
    const slowP = await startHoldingProxy(p.url);
    const downs: string[] = [];
    const client = connect([slowP.url, b.url], {
      replicas: 2,
      failureThreshold: 1,
      onNodeDown: (node) => downs.push(node),
    });
    const key = keyLedBy(client, slowP.url, 'leaving-down');
    await storeOn(b, key, 'v');
    const read = client.get(key); // held on p
    await waitFor(() => slowP.held() === 1, "p's answer to be held");
    const removing = client.removeNode(slowP.url);
    await slowP.close(); // the held request fails: a failure of a node no longer in the cluster
    expect(await removing).toBe(true);
    expect(await read).toBe('v'); // from b
    expect(downs).toStrictEqual([]);
    await client.close();
  });

  it('a node added with a weight takes that share of the keys', async () => {
    cluster = await startCluster(2);
    const client = connect(cluster.urls);
    const added = await TestNode.start();
    extra.push(added);
    client.addNode({ url: added.url, weight: 2 });
    expect(client.nodes).toStrictEqual([...cluster.urls, added.url]);
    const keys = Array.from({ length: 4000 }, (_, i) => `w:${i}`);
    const primaries = keys.filter((key) => client.nodesFor(key)[0] === added.url).length;
    // Weights 1, 1 and 2: half of the keys, well inside 40–60%.
    expect(primaries).toBeGreaterThan(1600);
    expect(primaries).toBeLessThan(2400);
    expect(await client.set('w:0', 'v')).toBe(true);
    expect(await client.get('w:0')).toBe('v');
    await client.close();
  });

  it('refuses a malformed URL, a node already there and the last node', async () => {
    cluster = await startCluster(1);
    const client = connect(cluster.urls);
    expect(() => client.addNode('not a url')).toThrow(TypeError);
    expect(() => client.addNode('ftp://127.0.0.1:1')).toThrow(/http: or https:/);
    expect(() => client.addNode(`${cluster!.urls[0]!}/`)).toThrow(RangeError);
    expect(() => client.addNode({ url: 'http://127.0.0.1:2', weight: 0 })).toThrow(
      new RangeError(
        'node.weight must be > 0 and at most 262.144 (2^20 ring points / vnodes 4000), got 0',
      ),
    );
    expect(() => client.addNode({ url: 'nope' })).toThrow(/node\.url is not a valid URL/);
    expect(() => client.addNode({ url: 'http://127.0.0.1:2', weight: 1e9 })).toThrow(
      /node\.weight must be > 0 and at most 262\.144/,
    );
    await expect(client.removeNode(cluster.urls[0]!)).rejects.toThrow(/last node/);
    await expect(client.removeNode('http://127.0.0.1:1')).resolves.toBe(false);
    expect(client.nodes).toStrictEqual(cluster.urls);
    await client.close();
    expect(() => client.addNode('http://127.0.0.1:2')).toThrow(/closed/);
  });
});
