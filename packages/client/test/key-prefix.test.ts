import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HashRing } from '@dcache/ring';
import type { BackgroundErrorContext, DistributedCacheClient } from '../src/index.js';
import { isCacheUnavailableError, isOperationRejectedError } from '../src/index.js';
import { connect, holders, startCluster, TestNode, waitFor } from './cluster.js';
import type { TestCluster } from './cluster.js';
import { deferred } from './deferred.js';

let cluster: TestCluster;
let ring: HashRing;
beforeAll(async () => {
  cluster = await startCluster(3);
  ring = new HashRing(cluster.urls);
});
afterAll(() => cluster.close());

const opened: DistributedCacheClient[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((client) => client.close()));
  for (const node of cluster.nodes) node.server.cache.clear();
});

function open(keyPrefix: string, options = {}): DistributedCacheClient {
  const client = connect(cluster.urls, {
    replicas: 2,
    writeConsistency: 'all',
    keyPrefix,
    ...options,
  });
  opened.push(client);
  return client;
}

describe('keyPrefix', () => {
  it('keeps two prefixes apart on the same nodes, and stores the prefixed key', async () => {
    const a = open('a:');
    const b = open('b:');
    expect(await a.set('user:1', 'from a')).toBe(true);
    expect(await b.get('user:1')).toBeUndefined();
    expect(await b.set('user:1', 'from b')).toBe(true);
    expect(await a.get('user:1')).toBe('from a');
    expect(await b.get('user:1')).toBe('from b');
    expect(await b.delete('user:1')).toBe(true);
    expect(await a.get('user:1')).toBe('from a');

    // The nodes hold "a:user:1" on the ring's owners of that string, and nothing under the bare key.
    expect(holders(cluster.nodes, 'a:user:1').sort()).toStrictEqual(
      ring.getN('a:user:1', 2).sort(),
    );
    expect(holders(cluster.nodes, 'user:1')).toStrictEqual([]);
    expect(holders(cluster.nodes, 'b:user:1')).toStrictEqual([]);
  });

  it("routes a key as the ring's getN(prefix + key) and nodesFor takes the caller's key", async () => {
    const client = open('tenant-7/');
    const keys = Array.from({ length: 120 }, (_, i) => `route:${i}`);
    expect(await client.setMany(keys.map((key) => [key, key] as const))).toBe(true);
    let moved = 0;
    for (const key of keys) {
      const expected = ring.getN(`tenant-7/${key}`, 2);
      expect(client.nodesFor(key)).toStrictEqual(expected);
      expect(holders(cluster.nodes, `tenant-7/${key}`).sort(), key).toStrictEqual(
        [...expected].sort(),
      );
      if (ring.getN(key, 1)[0] !== expected[0]) moved++;
    }
    // The prefix changed the owner of many keys: routing by the bare key would have failed above.
    expect(moved).toBeGreaterThan(keys.length / 3);
  });

  it('getMany, setMany and deleteMany answer in caller keys', async () => {
    const client = open('p:');
    const other = open('q:');
    await other.set('k2', 'q');
    expect(
      await client.setMany([
        ['k1', 1],
        ['k2', 2],
      ]),
    ).toBe(true);
    expect(cluster.nodes.some((node) => node.entry('p:k1') !== undefined)).toBe(true);
    const found = await client.getMany(['k1', 'k2', 'k3']);
    expect([...found.entries()].sort()).toStrictEqual([
      ['k1', 1],
      ['k2', 2],
    ]);
    expect(await client.deleteMany(['k1', 'k2', 'k3'])).toBe(2);
    expect(await client.getMany(['k1', 'k2'])).toStrictEqual(new Map());
    // The other prefix's k2 is untouched.
    expect(await other.get('k2')).toBe('q');
  });

  it('every single-key method works on the prefixed key', async () => {
    const client = open('m:');
    const stored = (key: string) => holders(cluster.nodes, `m:${key}`).length;
    expect(await client.add('a', 1)).toBe(true);
    expect(await client.add('a', 2)).toBe(false);
    expect(await client.replace('a', 3)).toBe(true);
    expect(await client.replace('absent', 3)).toBe(false);
    expect(await client.get('a')).toBe(3);
    expect(await client.has('a')).toBe(true);
    expect(await client.touch('a', 60_000)).toBe(true);
    expect(await client.getAndTouch('a', 120_000)).toBe(3);
    // The replica after the one that answered is touched in the background.
    await waitFor(
      () => cluster.nodes.every((node) => (node.entry('m:a')?.ttl ?? Infinity) > 60_000),
      'every copy of m:a to get the new TTL',
    );
    const entry = await client.getVersioned<number>('a');
    expect(entry?.value).toBe(3);
    expect(await client.compareAndSet('a', 4, entry!.version)).toBe(true);
    expect(await client.get('a')).toBe(4);
    expect(await client.incr('n', 1, { initial: 10 })).toBe(10);
    expect(await client.incr('n', 5)).toBe(15);
    expect(await client.decr('n', 2)).toBe(13);
    expect(await client.getOrSet('loaded', () => 'v')).toBe('v');
    await waitFor(() => stored('loaded') === 2, "getOrSet's store");
    expect(stored('a')).toBe(2);
    expect(stored('n')).toBe(2);
    for (const node of cluster.nodes) {
      for (const bare of ['a', 'n', 'loaded', 'absent']) expect(node.entry(bare)).toBeUndefined();
    }
    expect(await client.delete('a')).toBe(true);
    expect(stored('a')).toBe(0);
  });

  it("getOrSet loads once per caller key, hands the loader the caller's key, and delete invalidates it", async () => {
    const client = open('g:');
    const load = deferred<string>();
    const seen: string[] = [];
    const loader = (key: string) => {
      seen.push(key);
      return load.promise;
    };
    const first = client.getOrSet('item', loader);
    const second = client.getOrSet('item', loader);
    await waitFor(() => seen.length === 1, 'the load to start');
    // A delete of the caller's key during the load makes it stale: returned, not stored.
    expect(await client.delete('item')).toBe(false);
    load.resolve('loaded');
    expect(await Promise.all([first, second])).toStrictEqual(['loaded', 'loaded']);
    expect(seen).toStrictEqual(['item']);
    await client.close();
    expect(holders(cluster.nodes, 'g:item')).toStrictEqual([]);
  });

  it('read repair writes the prefixed key back to the primary that missed it', async () => {
    const client = open('rr:');
    expect(await client.set('k', 'v')).toBe(true);
    const primary = cluster.nodes.find((node) => node.url === client.nodesFor('k')[0])!;
    primary.server.cache.delete('rr:k');
    expect(await client.get('k')).toBe('v');
    await waitFor(() => primary.entry('rr:k') !== undefined, 'the repair of the primary');
    expect(primary.entry('k')).toBeUndefined();
  });

  it('flush empties the whole nodes, other prefixes included', async () => {
    const a = open('a:');
    const b = open('b:');
    await a.set('x', 1);
    await b.set('x', 2);
    await a.flush();
    expect(await b.get('x')).toBeUndefined();
  });
});

describe('keyPrefix in errors and reports', () => {
  it("CacheUnavailableError names the caller's key and the prefixed key's replicas", async () => {
    const dead = await TestNode.start();
    await dead.kill();
    const client = connect([dead.url], { keyPrefix: 'p:', replicas: 1 });
    opened.push(client);
    const error: unknown = await client.get('k').catch((e: unknown) => e);
    expect(isCacheUnavailableError(error)).toBe(true);
    if (!isCacheUnavailableError(error)) return;
    expect(error.key).toBe('k');
    expect(error.message).toContain('"k"');
    expect(error.nodes).toStrictEqual([dead.url]);
  });

  it("OperationRejectedError and onBackgroundError carry the caller's key; the node's key limit counts the prefix", async () => {
    const node = await TestNode.start({ maxKeyBytes: 10, maxValueBytes: 1024 });
    try {
      const reports: [Error, BackgroundErrorContext][] = [];
      const client = connect([node.url], {
        keyPrefix: 'prefix:',
        replicas: 1,
        onBackgroundError: (error, context) => reports.push([error, context]),
      });
      opened.push(client);
      // 7 prefix bytes + 3 = 10: accepted; + 4 = 11: over the node's limit.
      expect(await client.set('abc', 1)).toBe(true);
      expect(node.entry('prefix:abc')?.value).toBeDefined();
      const tooLong: unknown = await client.set('abcd', 1).catch((e: unknown) => e);
      expect(isOperationRejectedError(tooLong) && tooLong.code).toBe('key_too_long');
      expect(isOperationRejectedError(tooLong) && tooLong.key).toBe('abcd');

      const big = 'x'.repeat(4096);
      const tooBig: unknown = await client.set('v', big).catch((e: unknown) => e);
      expect(isOperationRejectedError(tooBig) && tooBig.key).toBe('v');
      // getOrSet's refused store is reported under the caller's key.
      expect(await client.getOrSet('v', () => big)).toBe(big);
      await waitFor(() => reports.length === 1, 'the refused store to be reported');
      expect(reports[0]![1]).toMatchObject({ operation: 'get-or-set-store', key: 'v' });
    } finally {
      await node.kill();
    }
  });
});
