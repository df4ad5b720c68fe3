import { afterEach, describe, expect, it } from 'vitest';
import { HashRing } from '@dcache/ring';
import { decodeValue } from '../src/codec.js';
import { DistributedCacheClient, isCacheUnavailableError } from '../src/index.js';
import type { ClientOptions } from '../src/index.js';
import { startBlackHole, startCluster, startHoldingProxy, TestNode, waitFor } from './cluster.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Long enough that a loaded machine never times out the live node, short enough to wait out. */
const TIMEOUT = 3000;
/** Nothing is marked down during a test: every write still goes to every replica. */
const BASE: ClientOptions = { timeout: TIMEOUT, failureThreshold: 100, probeInterval: 60_000 };

function client(nodes: string[], options: ClientOptions): DistributedCacheClient {
  const created = new DistributedCacheClient(nodes, { ...BASE, ...options });
  cleanups.push(() => created.close());
  return created;
}

/** The first `prefix:<i>` key whose primary (first of the ring's preference list) is `url`. */
function keyWithPrimary(ring: HashRing, url: string, prefix: string): string {
  for (let i = 0; ; i++) {
    const key = `${prefix}:${i}`;
    if (ring.getN(key, 2)[0] === url) return key;
  }
}

/** The value a node holds for `key`, decoded as the client would. */
function valueOn(node: TestNode, key: string): unknown {
  const entry = node.entry(key);
  return entry === undefined ? undefined : decodeValue(entry.value.bytes, entry.value.flags);
}

/** One real node and one that accepts connections but never answers; replicas 2 = both. */
async function liveAndBlackHole() {
  const node = await TestNode.start();
  cleanups.push(() => node.kill());
  const hole = await startBlackHole();
  cleanups.push(hole.close);
  return { node, hole, urls: [node.url, hole.url] };
}

describe("writeConsistency 'one'", () => {
  it("resolves at the primary's acknowledgement, not at the other replica's timeout", async () => {
    const { node, hole, urls } = await liveAndBlackHole();
    const ring = new HashRing(urls);
    const writer = client(urls, { replicas: 2, writeConsistency: 'one', batch: true });
    const key = keyWithPrimary(ring, node.url, 'one');
    expect(writer.nodesFor(key)).toStrictEqual(ring.getN(key, 2));
    const started = performance.now();
    expect(await writer.set(key, { primary: node.url })).toBe(true);
    expect(performance.now() - started).toBeLessThan(TIMEOUT / 2);
    expect(valueOn(node, key)).toStrictEqual({ primary: node.url });
    // The black hole was asked too: 'one' did not simply skip the slow replica.
    await waitFor(() => hole.connections() >= 1, 'the write to reach the black hole');
    // close() waits for the write to the black hole to time out in the background: its timer ran
    // from when it was sent, after `started` (however long a loaded machine took to get here).
    await writer.close();
    expect(performance.now() - started).toBeGreaterThan(TIMEOUT * 0.9);
  });

  it('waits for the primary (what reads ask first); once its request fails, the other ack answers false', async () => {
    const { node, urls } = await liveAndBlackHole();
    const ring = new HashRing(urls);
    const writer = client(urls, { replicas: 2, writeConsistency: 'one', batch: true });
    const key = keyWithPrimary(ring, urls[1]!, 'primary-hole');
    const started = performance.now();
    // Stored on the other replica, but only partly done: the primary, which reads ask first, never
    // acknowledged, so the next read may still see the old value there (a timeout is not proof
    // the node is gone: another client may be reading it).
    expect(await writer.set(key, 'v')).toBe(false);
    // The call waited out the primary's timeout rather than answer at the replica's ack.
    expect(performance.now() - started).toBeGreaterThan(TIMEOUT * 0.9);
    expect(valueOn(node, key)).toBe('v');
  });
});

describe('delete', () => {
  it("rejects with the primary's timeout when only the other replica answered", async () => {
    const { node, urls } = await liveAndBlackHole();
    const ring = new HashRing(urls);
    const key = keyWithPrimary(ring, urls[1]!, 'delete-hole');
    node.server.cache.set(key, { bytes: new TextEncoder().encode('"old"'), flags: 0 });
    const deleter = client(urls, { replicas: 2, writeConsistency: 'one' });
    // The primary, which reads ask first, may still serve the old value: not a finished delete.
    await expect(deleter.delete(key)).rejects.toThrow(/no answer within/);
    // The other replica took it all the same.
    expect(valueOn(node, key)).toBeUndefined();
  });

  it('deleteMany does not count such a key, and still resolves', async () => {
    const { node, urls } = await liveAndBlackHole();
    const ring = new HashRing(urls);
    const onHole = keyWithPrimary(ring, urls[1]!, 'many-hole');
    const onNode = keyWithPrimary(ring, urls[0]!, 'many-live');
    for (const key of [onHole, onNode]) {
      node.server.cache.set(key, { bytes: new TextEncoder().encode('"old"'), flags: 0 });
    }
    const deleter = client(urls, { replicas: 2, writeConsistency: 'one' });
    expect(await deleter.deleteMany([onHole, onNode])).toBe(1);
    expect(valueOn(node, onHole)).toBeUndefined();
  });
});

describe('fewer acknowledgements than required, but some', () => {
  it("'all' and 'quorum' (2 of 2) resolve false when one of two replicas never answers", async () => {
    const { node, urls } = await liveAndBlackHole();
    const all = client(urls, { replicas: 2, writeConsistency: 'all' });
    const quorum = client(urls, { replicas: 2, writeConsistency: 'quorum' });
    // Concurrently: each waits out the black hole's timeout.
    const [allStored, quorumStored] = await Promise.all([
      all.set('acks:all', 'a'),
      quorum.set('acks:quorum', 'q'),
    ]);
    expect(allStored).toBe(false);
    expect(quorumStored).toBe(false);
    // The reachable replica was written all the same.
    expect(valueOn(node, 'acks:all')).toBe('a');
    expect(valueOn(node, 'acks:quorum')).toBe('q');
  });

  it("with replicas 3 and one node dead: 'quorum' (2 of 3) resolves true where the primary is live, 'all' false", async () => {
    const cluster = await startCluster(3);
    cleanups.push(() => cluster.close());
    const dead = cluster.nodes[1]!;
    await dead.kill();
    const live = cluster.nodes.filter((node) => node !== dead);
    const quorum = client(cluster.urls, { replicas: 3, writeConsistency: 'quorum' });
    const all = client(cluster.urls, { replicas: 3, writeConsistency: 'all' });
    const keys = Array.from({ length: 30 }, (_, i) => `r3:${i}`);
    // The dead node is still tried (failureThreshold 100), as primary for some keys.
    expect(keys.some((key) => quorum.nodesFor(key)[0] === dead.url)).toBe(true);
    for (const key of keys) expect(quorum.nodesFor(key)).toHaveLength(3);

    // A key whose primary is the dead node has its two acks, but not the primary's: partly done.
    expect(await Promise.all(keys.map((key) => quorum.set(key, `q:${key}`)))).toStrictEqual(
      keys.map((key) => quorum.nodesFor(key)[0] !== dead.url),
    );
    expect(await Promise.all(keys.map((key) => all.set(key, `a:${key}`)))).toStrictEqual(
      keys.map(() => false),
    );
    for (const key of keys) {
      for (const node of live) expect(valueOn(node, key)).toBe(`a:${key}`);
    }
  });
});

describe('no acknowledgement at all', () => {
  it('set rejects with CacheUnavailableError naming every replica it tried', async () => {
    const dead = await TestNode.start();
    await dead.kill();
    const hole = await startBlackHole();
    cleanups.push(hole.close);
    const urls = [dead.url, hole.url];
    const writer = client(urls, { replicas: 2, timeout: 500 });
    const key = 'nowhere';
    const error: unknown = await writer.set(key, 1).catch((e: unknown) => e);
    expect(isCacheUnavailableError(error)).toBe(true);
    const unavailable = error as { key: string; nodes: string[]; errors: Error[]; message: string };
    expect(unavailable.key).toBe(key);
    expect(unavailable.nodes).toStrictEqual(new HashRing(urls).getN(key, 2));
    expect(unavailable.errors).toHaveLength(2);
    for (const url of urls) expect(unavailable.message).toContain(url);
    await waitFor(() => hole.connections() >= 1, 'the black hole to have been tried');
  });
});

describe('delete', () => {
  it('waits for every replica: a copy only the slower replica held still makes it true', async () => {
    const fast = await TestNode.start();
    cleanups.push(() => fast.kill());
    const slow = await TestNode.start();
    cleanups.push(() => slow.kill());
    // The key only on the slow replica (a client that knows only it).
    const direct = client([slow.url], { replicas: 1 });
    expect(await direct.set('slow-copy', 'x')).toBe(true);
    expect(fast.entry('slow-copy')).toBeUndefined();

    const held = await startHoldingProxy(slow.url);
    cleanups.push(held.close);
    const second = client([fast.url, held.url], { replicas: 2 });
    const deleting = second.delete('slow-copy');
    await waitFor(() => held.held() === 1, 'the slow replica to have been asked');
    held.release();
    expect(await deleting).toBe(true);
    expect(slow.entry('slow-copy')).toBeUndefined();
  });
});

describe("add with writeConsistency 'all'", () => {
  it('resolves only after every other replica acknowledged the copy', async () => {
    const cluster = await startCluster(3);
    cleanups.push(() => cluster.close());
    const slow = cluster.nodes[2]!;
    const proxy = await startHoldingProxy(slow.url);
    cleanups.push(proxy.close);
    const urls = [cluster.urls[0]!, cluster.urls[1]!, proxy.url];
    const adder = client(urls, { replicas: 3, writeConsistency: 'all' });
    let key = 'add-all:0';
    for (let i = 1; adder.nodesFor(key)[0] === proxy.url; i++) key = `add-all:${i}`;
    let settled = false;
    const adding = adder.add(key, 'v').finally(() => (settled = true));
    await waitFor(() => proxy.held() === 1, 'the slow replica to have been written');
    const fast = cluster.nodes.slice(0, 2);
    await waitFor(() => fast.every((node) => node.entry(key) !== undefined), 'the fast replicas');
    // A negative check, so bounded by a pause: the fast replicas' answers have had time to land.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(settled).toBe(false);
    proxy.release();
    expect(await adding).toBe(true);
  });
});
