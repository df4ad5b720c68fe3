import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DistributedCacheClient } from '../src/index.js';
import { isOperationRejectedError } from '../src/index.js';
import { connect, startCluster } from './cluster.js';
import type { TestCluster } from './cluster.js';

let cluster: TestCluster;
let client: DistributedCacheClient;
beforeAll(async () => {
  cluster = await startCluster(3, { maxValueBytes: 4096 });
  client = connect(cluster.urls, { writeConsistency: 'all' });
});
afterAll(async () => {
  await client.close();
  await cluster.close();
});

describe('values through real nodes', () => {
  const values: [string, unknown][] = [
    ['string', 'héllo'],
    ['number', 42],
    ['negative float', -1.25],
    ['boolean', false],
    ['null', null],
    ['array', [1, 'two', [3]]],
    ['plain object', { a: { b: [1] } }],
    ['Date', new Date(1_700_000_000_123)],
    [
      'Map',
      new Map<unknown, unknown>([
        [1, 'one'],
        ['two', { n: 2 }],
      ]),
    ],
    ['Uint8Array', new Uint8Array([1, 2, 3])],
    ['bigint beyond 64 bits', 2n ** 80n + 1n],
  ];
  it.each(values)('%s round-trips', async (name, value) => {
    expect(await client.set(`type:${name}`, value)).toBe(true);
    expect(await client.get(`type:${name}`)).toStrictEqual(value);
  });

  it('text and raw bytes written over HTTP read back as a string and a Uint8Array', async () => {
    const [primary] = client.nodesFor('text-key');
    await fetch(`${primary}/v1/keys/text-key`, {
      method: 'PUT',
      headers: { 'content-type': 'text/plain' },
      body: 'hi ✓',
    });
    expect(await client.get('text-key')).toBe('hi ✓');
    const [owner] = client.nodesFor('raw-key');
    await fetch(`${owner}/v1/keys/raw-key`, {
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream' },
      body: new Uint8Array([9, 8]),
    });
    expect(await client.get('raw-key')).toStrictEqual(new Uint8Array([9, 8]));
  });
});

describe('operations', () => {
  it('get of a missing key is undefined; has follows set and delete', async () => {
    expect(await client.get('nope')).toBeUndefined();
    expect(await client.has('h')).toBe(false);
    await client.set('h', 1);
    expect(await client.has('h')).toBe(true);
    await client.delete('h');
    expect(await client.has('h')).toBe(false);
  });

  it('ttl expires a key (ttl in milliseconds)', async () => {
    // Nodes on a clock the test moves: expiry at exactly ttl ms, no waiting on the real clock.
    let now = 1_700_000_000_000;
    const timed = await startCluster(3, { now: () => now });
    try {
      const timedClient = connect(timed.urls);
      await timedClient.set('short', 'x', { ttl: 1500 });
      now += 1499;
      expect(await timedClient.get('short')).toBe('x');
      now += 1;
      expect(await timedClient.get('short')).toBeUndefined();
      await timedClient.close();
    } finally {
      await timed.close();
    }
    await client.set('forever', 'x', { ttl: 0 });
    expect((await client.getVersioned('forever'))?.ttl).toBeUndefined();
    await client.set('minute', 'x', { ttl: 60_000 });
    const ttl = (await client.getVersioned('minute'))!.ttl!;
    expect(ttl).toBeGreaterThan(55_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
  });

  it('add stores only a missing key, replace only a present one', async () => {
    expect(await client.add('ar', 1)).toBe(true);
    expect(await client.add('ar', 2)).toBe(false);
    expect(await client.get('ar')).toBe(1);
    expect(await client.replace('ar', 3)).toBe(true);
    expect(await client.get('ar')).toBe(3);
    expect(await client.replace('never-there', 1)).toBe(false);
    expect(await client.get('never-there')).toBeUndefined();
  });

  it('an added value reaches every replica', async () => {
    await client.add('added', 'a');
    for (const url of client.nodesFor('added')) {
      const single = connect([url], { replicas: 1 });
      expect(await single.get('added')).toBe('a');
      await single.close();
    }
  });

  it('compareAndSet succeeds with the current version and fails after a change', async () => {
    await client.set('cas', { n: 1 });
    const first = (await client.getVersioned<{ n: number }>('cas'))!;
    expect(first.value).toStrictEqual({ n: 1 });
    expect(await client.compareAndSet('cas', { n: 2 }, first.version)).toBe(true);
    expect(await client.compareAndSet('cas', { n: 3 }, first.version)).toBe(false);
    expect(await client.get('cas')).toStrictEqual({ n: 2 });
    const second = (await client.getVersioned('cas'))!;
    expect(second.version).not.toBe(first.version);
    expect(await client.compareAndSet('cas-missing', 'x', 1)).toBe(false);
    expect(await client.getVersioned('cas-missing')).toBeUndefined();
  });

  it('incr and decr count on every replica; a missing key is undefined', async () => {
    expect(await client.incr('counter')).toBeUndefined();
    await client.set('counter', 10);
    expect(await client.incr('counter')).toBe(11);
    expect(await client.incr('counter', 5)).toBe(16);
    expect(await client.decr('counter', 20)).toBe(0);
    expect(await client.incr('counter', 7)).toBe(7);
    expect(await client.get('counter')).toBe(7);
    for (const url of client.nodesFor('counter')) {
      const single = connect([url], { replicas: 1 });
      expect(await single.get('counter')).toBe(7);
      await single.close();
    }
  });

  it('incr and decr with initial create a missing counter on every replica, returning initial', async () => {
    expect(await client.incr('seeded', 5, { initial: 10, ttl: 60_000 })).toBe(10);
    expect(await client.incr('seeded', 5, { initial: 99 })).toBe(15);
    expect(await client.get('seeded')).toBe(15);
    for (const url of client.nodesFor('seeded')) {
      const entry = cluster.nodes.find((node) => node.url === url)!.entry('seeded')!;
      expect(new TextDecoder().decode(entry.value.bytes)).toBe('15');
      expect(entry.ttl).toBeGreaterThan(55_000);
      expect(entry.ttl).toBeLessThanOrEqual(60_000);
    }
    expect(await client.decr('seeded-down', 3, { initial: 7 })).toBe(7);
    expect(await client.decr('seeded-down', 3)).toBe(4);
    expect(await client.incr('unseeded', 1)).toBeUndefined();
    expect(await client.has('unseeded')).toBe(false);
  });

  it('incr with initial does not reset a counter a replica still holds when the primary lost it', async () => {
    await client.set('kept-count', 100);
    const [primary] = client.nodesFor('kept-count');
    cluster.nodes.find((node) => node.url === primary)!.server.cache.delete('kept-count');
    expect(await client.incr('kept-count', 1, { initial: 1 })).toBe(101);
    expect(await client.get('kept-count')).toBe(101);
  });

  it('a counter beyond 2^53 (the node answers a bigint) comes back as the nearest number', async () => {
    for (const url of client.nodesFor('huge')) {
      await fetch(`${url}/v1/keys/huge`, {
        method: 'PUT',
        headers: { 'content-type': 'text/plain' },
        body: '18446744073709551610',
      });
    }
    expect(await client.incr('huge', 1)).toBe(Number(18446744073709551611n));
  });

  it('incr on a value that is not a counter is rejected by the node', async () => {
    await client.set('not-counter', 'abc');
    const error: unknown = await client.incr('not-counter').catch((e: unknown) => e);
    expect(isOperationRejectedError(error)).toBe(true);
    expect(error).toMatchObject({ status: 400, key: 'not-counter' });
  });

  it('a value over the node limit is rejected with its code, not reported as an outage', async () => {
    const error: unknown = await client.set('big', new Uint8Array(10_000)).catch((e: unknown) => e);
    expect(isOperationRejectedError(error)).toBe(true);
    expect(error).toMatchObject({ status: 413 });
    expect(await client.get('big')).toBeUndefined();
  });

  it('touch sets a new TTL on every replica, keeping value and version; false for a missing key', async () => {
    const replicaEntries = (key: string) =>
      client
        .nodesFor(key)
        .map((url) => cluster.nodes.find((node) => node.url === url)!.entry(key)!);
    await client.set('touched', 'v', { ttl: 1000 });
    const versions = replicaEntries('touched').map((entry) => entry.version);
    expect(await client.touch('touched', 0)).toBe(true);
    expect(replicaEntries('touched').map((entry) => entry.ttl)).toEqual([undefined, undefined]);
    expect(await client.touch('touched', 60_000)).toBe(true);
    for (const entry of replicaEntries('touched')) {
      expect(entry.ttl).toBeGreaterThan(55_000);
      expect(entry.ttl).toBeLessThanOrEqual(60_000);
    }
    expect(replicaEntries('touched').map((entry) => entry.version)).toEqual(versions);
    expect(await client.get('touched')).toBe('v');
    expect(await client.touch('never-touched', 1000)).toBe(false);
    expect(await client.has('never-touched')).toBe(false);
  });

  it('getMany returns the present keys, setMany stores many, deleteMany counts what existed', async () => {
    const entries: [string, unknown][] = Array.from({ length: 40 }, (_, i) => [`many:${i}`, { i }]);
    expect(await client.setMany(entries, { ttl: 60_000 })).toBe(true);
    const found = await client.getMany(['many:0', 'many:39', 'many:absent', 'many:0']);
    expect(found).toStrictEqual(
      new Map([
        ['many:0', { i: 0 }],
        ['many:39', { i: 39 }],
      ]),
    );
    // In the order asked for, whichever replica answered first.
    const asked = entries.map(([key]) => key).reverse();
    expect([...(await client.getMany(asked)).keys()]).toEqual(asked);
    expect(await client.deleteMany(['many:0', 'many:1', 'many:absent'])).toBe(2);
    expect(await client.getMany(entries.map(([key]) => key))).toHaveProperty('size', 38);
  });

  it('getStats reports each node and cluster totals', async () => {
    // Its own traffic, so it holds when run alone: a hit and a miss at least.
    await client.set('stats:hit', 'v');
    expect(await client.get('stats:hit')).toBe('v');
    expect(await client.get('stats:absent')).toBeUndefined();
    const stats = await client.getStats();
    expect(stats.nodes.map((status) => status.node)).toStrictEqual(cluster.urls);
    expect(stats.up).toBe(3);
    expect(stats.down).toBe(0);
    const sums = { hits: 0, misses: 0, evictions: 0, items: 0, memory: 0 };
    for (const status of stats.nodes) {
      expect(status.up).toBe(true);
      expect(status.error).toBeUndefined();
      sums.hits += status.stats!.hits;
      sums.misses += status.stats!.misses;
      sums.evictions += status.stats!.evictions;
      sums.items += status.stats!.items;
      sums.memory += status.stats!.memoryUsed;
      expect(status.stats!.nodeId).toEqual(expect.any(String));
    }
    // Each total is the sum of its own field over the nodes (memory is the nodes' memoryUsed).
    expect(stats.totals).toMatchObject(sums);
    expect(stats.totals.memory).not.toBe(stats.totals.items);
    expect(stats.totals.hits).toBeGreaterThan(0);
    expect(stats.totals.misses).toBeGreaterThan(0);
    expect(stats.totals.memory).toBeGreaterThan(0);
    expect(stats.totals.hitRate).toBeCloseTo(
      stats.totals.hits / (stats.totals.hits + stats.totals.misses),
    );
  });

  it('a closed client refuses work with a rejected promise, never a synchronous throw', async () => {
    const closing = connect(cluster.urls);
    await closing.close();
    const calls: (() => Promise<unknown>)[] = [
      () => closing.get('x'),
      () => closing.set('x', 1),
      () => closing.getMany(['x']),
      () => closing.incr('x'),
      () => closing.getStats(),
      // The closed client is said before a bad argument is.
      () => closing.compareAndSet('x', 1, -1),
      () => closing.setMany([['x', 1]]),
    ];
    for (const call of calls) {
      let pending: Promise<unknown> | undefined;
      expect(() => (pending = call())).not.toThrow();
      await expect(pending).rejects.toThrow(/the client is closed/);
    }
    await closing.close();
  });

  it('close() lets the operations issued before it in the same tick finish', async () => {
    await client.set('close:same-tick', 'kept');
    const closing = connect(cluster.urls);
    // Reads only: nothing is tracked as background work, they sit queued for the next tick.
    const reads = Promise.all([
      closing.get('close:same-tick'),
      closing.has('close:absent'),
      closing.getMany(['close:same-tick']),
    ]);
    const closed = closing.close();
    expect(await reads).toStrictEqual(['kept', false, new Map([['close:same-tick', 'kept']])]);
    await closed;
  });

  it('a second close() waits for the same shutdown as the first', async () => {
    const closing = connect(cluster.urls);
    const writes = [closing.set('close:twice', 'v', { ttl: 60_000 }), closing.delete('close:x')];
    const first = closing.close();
    const second = closing.close();
    // The same promise: a second caller (another signal handler, say) cannot resolve earlier.
    expect(second).toBe(first);
    let done = false;
    void second.then(() => (done = true));
    await Promise.all(writes);
    await first;
    expect(done).toBe(true);
    expect(closing.close()).toBe(first);
  });
});
