import { afterEach, describe, expect, it } from 'vitest';
import { DistributedCacheClient } from '../src/index.js';
import type { CallOptions } from '../src/index.js';
import { startBlackHole, startCluster, startHoldingProxy, TestNode, waitFor } from './cluster.js';
import { keyWithPrimary } from './key-with-primary.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

type HoldingProxy = Awaited<ReturnType<typeof startHoldingProxy>>;
interface HeldNode {
  /** The node behind the proxy: it answers only when the proxy releases. */
  held: TestNode;
  proxy: HoldingProxy;
  client: DistributedCacheClient;
}

/**
 * A test node behind a holding proxy and a client of it; with `other`, a second node the client
 * lists before or after it. Every one is cleaned up after the test.
 */
async function withHeldNode(): Promise<HeldNode>;
async function withHeldNode(other: 'before' | 'after'): Promise<HeldNode & { other: TestNode }>;
async function withHeldNode(other?: 'before' | 'after'): Promise<HeldNode & { other?: TestNode }> {
  const held = await TestNode.start();
  cleanups.push(() => held.kill());
  const proxy = await startHoldingProxy(held.url);
  cleanups.push(proxy.close);
  const second = other === undefined ? undefined : await TestNode.start();
  if (second !== undefined) cleanups.push(() => second.kill());
  const urls =
    second === undefined
      ? [proxy.url]
      : other === 'before'
        ? [second.url, proxy.url]
        : [proxy.url, second.url];
  const client = new DistributedCacheClient(urls);
  cleanups.push(() => client.close());
  return second === undefined ? { held, proxy, client } : { held, other: second, proxy, client };
}

/** Every call that takes `{ signal }`, issued with `options`. */
function everyCall(client: DistributedCacheClient, options: CallOptions) {
  return {
    get: () => client.get('k', options),
    getAndTouch: () => client.getAndTouch('k', 1000, options),
    has: () => client.has('k', options),
    getOrSet: () => client.getOrSet('k', () => 'loaded', options),
    set: () => client.set('k', 'new', options),
    add: () => client.add('k2', 'new', options),
    replace: () => client.replace('k', 'new', options),
    delete: () => client.delete('k', options),
    touch: () => client.touch('k', 1000, options),
    getMany: () => client.getMany(['k', 'k2'], options),
    setMany: () => client.setMany([['k', 'new']], options),
    deleteMany: () => client.deleteMany(['k'], options),
    incr: () => client.incr('n', 1, options),
    decr: () => client.decr('n', 1, options),
    getVersioned: () => client.getVersioned('k', options),
    compareAndSet: () => client.compareAndSet('k', 'new', 1, options),
    getStats: () => client.getStats(options),
    flush: () => client.flush(options),
    ready: () => client.ready(options),
  };
}

describe('a call given an AbortSignal', () => {
  it('that has already aborted rejects with its reason and sends nothing, whatever the call', async () => {
    const node = await TestNode.start();
    cleanups.push(() => node.kill());
    const client = new DistributedCacheClient([node.url]);
    cleanups.push(() => client.close());
    await client.set('k', 'old');
    await client.set('n', 5);
    const before = await node.batchRequests();

    const reason = new Error('the caller gave up');
    const calls = everyCall(client, { signal: AbortSignal.abort(reason) });
    for (const [name, call] of Object.entries(calls)) {
      await expect(call(), name).rejects.toBe(reason);
    }
    // Nothing reached the node: no batch, and what it holds is untouched.
    expect(await node.batchRequests()).toBe(before);
    expect(await client.get('k')).toBe('old');
    expect(await client.get('n')).toBe(5);
    expect(await client.get('k2')).toBeUndefined();
  });

  it('works as before when it never aborts', async () => {
    const cluster = await startCluster(3);
    cleanups.push(cluster.close);
    const client = new DistributedCacheClient(cluster.urls);
    cleanups.push(() => client.close());
    const { signal } = new AbortController();
    expect(await client.set('k', { a: 1 }, { signal, ttl: 60_000 })).toBe(true);
    expect(await client.get('k', { signal })).toStrictEqual({ a: 1 });
    expect(await client.incr('n', 2, { signal, initial: 7 })).toBe(7);
    expect(await client.getMany(['k', 'n'], { signal })).toStrictEqual(
      new Map<string, unknown>([
        ['k', { a: 1 }],
        ['n', 7],
      ]),
    );
    expect(await client.delete('k', { signal })).toBe(true);
  });

  it('bounds the whole call: AbortSignal.timeout rejects long before the client timeout', async () => {
    const hole = await startBlackHole();
    const client = new DistributedCacheClient([hole.url], { timeout: 60_000 });
    cleanups.push(() => client.close());
    // Closed first: its dropped connections end the requests close() would wait a minute for.
    cleanups.push(hole.close);
    const started = Date.now();
    const error: unknown = await client
      .get('k', { signal: AbortSignal.timeout(50) })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'TimeoutError' });
    // Generous slack for a loaded machine; the client's own timeout is a minute.
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('aborted while its write is on the wire: the caller is told at once, the write still lands', async () => {
    const { held: node, proxy, client } = await withHeldNode();
    const controller = new AbortController();

    const setting = client.set('k', 'v', { signal: controller.signal });
    await waitFor(() => proxy.held() === 1, 'the node answered; the proxy holds the answer');
    const reason = new Error('navigated away');
    controller.abort(reason);
    await expect(setting).rejects.toBe(reason);
    // Aborting does not undo what was sent (as with fetch): the node stored it.
    expect(node.entry('k')).toBeDefined();
    proxy.release();
  });

  it('a getOrSet aborted while its read is out starts no load and stores nothing', async () => {
    const { held: node, proxy, client } = await withHeldNode();
    const controller = new AbortController();
    let loads = 0;
    const loading = client.getOrSet(
      'k',
      () => {
        loads++;
        return 'loaded';
      },
      { signal: controller.signal },
    );
    await waitFor(() => proxy.held() === 1, 'the node answered the read; the proxy holds it');
    const reason = new Error('the request was cancelled');
    controller.abort(reason);
    await expect(loading).rejects.toBe(reason);
    // The miss arrives after the caller left: no query to the source for nobody, nothing cached.
    proxy.release();
    await client.close();
    expect(loads).toBe(0);
    expect(node.entry('k')).toBeUndefined();
  });

  it('an add aborted during its check on the replicas stores nothing afterwards', async () => {
    const { other: a, held: b, proxy, client } = await withHeldNode('before');
    const key = keyWithPrimary(client, a.url);
    const controller = new AbortController();

    // A lock with a deadline: the add first asks both replicas for the key; b's answer is held.
    const adding = client.add(key, 'me', { ttl: 60_000, signal: controller.signal });
    await waitFor(() => proxy.held() === 1, 'the check reached b; the proxy holds its answer');
    const reason = new Error('gave up on the lock');
    controller.abort(reason);
    await expect(adding).rejects.toBe(reason);
    proxy.release();
    await client.close();
    // Told it was abandoned, the caller must not find the lock taken by its own add.
    expect(a.entry(key)).toBeUndefined();
    expect(b.entry(key)).toBeUndefined();
  });

  it('an incr with initial aborted during its first round creates no counter afterwards', async () => {
    const { held: node, proxy, client } = await withHeldNode();
    const controller = new AbortController();

    const counting = client.incr('hits', 1, { initial: 1, signal: controller.signal });
    await waitFor(() => proxy.held() === 1, 'the first incr was answered; the proxy holds it');
    const reason = new Error('the request was cancelled');
    controller.abort(reason);
    await expect(counting).rejects.toBe(reason);
    proxy.release();
    await client.close();
    // A retry of the abandoned call would otherwise count it twice.
    expect(node.entry('hits')).toBeUndefined();
  });

  it('a touch of a moved key aborted while its previous owner is read touches nothing afterwards', async () => {
    const nodes = await Promise.all(Array.from({ length: 4 }, () => TestNode.start()));
    for (const node of nodes) cleanups.push(() => node.kill());
    const [a, b, c, d] = nodes as [TestNode, TestNode, TestNode, TestNode];
    const window = { maxWindowMs: 60_000, quietMs: 60_000 };
    const client = new DistributedCacheClient([a.url, b.url, c.url], {
      replicas: 1,
      transition: window,
    });
    cleanups.push(() => client.close());
    const keys = Array.from({ length: 100 }, (_, i) => `moved:${i}`);
    expect(
      await client.setMany(
        keys.map((key) => [key, 'v'] as const),
        { ttl: 600_000 },
      ),
    ).toBe(true);
    client.addNode(d.url);
    const key = keys.find((k) => client.nodesFor(k)[0] === d.url)!;
    const controller = new AbortController();

    // In the window a touch of a moved key first copies the previous owner's entry to the new
    // owner (a read there, then a copy), and only then touches: the caller gives up at once.
    const touching = client.touch(key, 1000, { signal: controller.signal });
    const reason = new Error('the request was cancelled');
    controller.abort(reason);
    await expect(touching).rejects.toBe(reason);
    await client.close();
    // Told it was abandoned, the caller must not find the key's TTL changed by it.
    for (const node of [a, b, c, d]) {
      const ttl = node.entry(key)?.ttl;
      if (ttl !== undefined) expect(ttl, node.url).toBeGreaterThan(1000);
    }
  });

  it('a get aborted while its primary is asked does not fail over afterwards', async () => {
    const { other: b, proxy, client } = await withHeldNode('after');
    const key = keyWithPrimary(client, proxy.url);
    const before = await b.batchRequests();
    const controller = new AbortController();

    const reading = client.get(key, { signal: controller.signal });
    await waitFor(() => proxy.held() === 1, 'the primary missed; the proxy holds its answer');
    const reason = new Error('the caller gave up');
    controller.abort(reason);
    await expect(reading).rejects.toBe(reason);
    proxy.release();
    await client.close();
    expect(await b.batchRequests()).toBe(before);
  });

  it('many concurrent calls sharing one signal: all reject together, no listener leak warning', async () => {
    const hole = await startBlackHole();
    const client = new DistributedCacheClient([hole.url], { timeout: 60_000 });
    cleanups.push(() => client.close());
    // Closed first: its dropped connections end the requests close() would wait a minute for.
    cleanups.push(hole.close);
    const warnings: Error[] = [];
    const onWarning = (warning: Error): void => {
      warnings.push(warning);
    };
    process.on('warning', onWarning);
    cleanups.push(async () => {
      process.off('warning', onWarning);
    });

    const controller = new AbortController();
    const calls = Array.from({ length: 50 }, (_, i) =>
      client.get(`k${i}`, { signal: controller.signal }).catch((e: unknown) => e),
    );
    controller.abort();
    const errors = await Promise.all(calls);
    expect(errors.every((error) => (error as Error).name === 'AbortError')).toBe(true);
    // A warning is emitted on a later turn.
    await new Promise((resolve) => setImmediate(resolve));
    expect(warnings.map((w) => w.message)).toStrictEqual([]);
  });

  it('anything but an AbortSignal is a TypeError before anything is sent', async () => {
    const node = await TestNode.start();
    cleanups.push(() => node.kill());
    const client = new DistributedCacheClient([node.url]);
    cleanups.push(() => client.close());
    const before = await node.batchRequests();
    const bad = { signal: { aborted: false } } as unknown as CallOptions;
    await expect(client.get('k', bad)).rejects.toThrow(
      new TypeError('signal must be an AbortSignal, got another object'),
    );
    await expect(client.set('k', 1, bad)).rejects.toThrow(TypeError);
    await expect(client.get('k', 5 as unknown as CallOptions)).rejects.toThrow(
      'options must be an object like { signal }',
    );
    // ready() too, though a node list needs no waiting.
    await expect(client.ready(bad)).rejects.toThrow(TypeError);
    await expect(client.ready({ bogus: 1 } as unknown as CallOptions)).rejects.toThrow(
      'unknown option "bogus"',
    );
    expect(await node.batchRequests()).toBe(before);
    expect(node.entry('k')).toBeUndefined();
  });
});
