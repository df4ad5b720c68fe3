import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { BackgroundErrorContext, DistributedCacheClient } from '../src/index.js';
import {
  isCacheUnavailableError,
  isNodeRequestError,
  isOperationRejectedError,
} from '../src/index.js';
import { connect, holders, startCluster, waitFor } from './cluster.js';
import type { TestCluster } from './cluster.js';
import { deferred } from './deferred.js';

let cluster: TestCluster;
beforeAll(async () => {
  cluster = await startCluster(3);
});
afterAll(() => cluster.close());

let client: DistributedCacheClient | undefined;
let reports: [Error, BackgroundErrorContext][] = [];
afterEach(async () => {
  await client?.close();
  client = undefined;
  reports = [];
});

/** A client of the shared cluster that records what reaches `onBackgroundError`. */
function open(urls = cluster.urls, options = {}): DistributedCacheClient {
  client = connect(urls, {
    replicas: 2,
    onBackgroundError: (error, context) => reports.push([error, context]),
    ...options,
  });
  return client;
}

/** A loader that counts its calls and answers when the test settles the call's deferred. */
function manualLoader<T>() {
  const calls: ReturnType<typeof deferred<T>>[] = [];
  const loader = (): Promise<T> => {
    const call = deferred<T>();
    calls.push(call);
    return call.promise;
  };
  return { calls, loader };
}

describe('getOrSet', () => {
  it('concurrent misses share one load; the value is stored on every replica, then served as a hit', async () => {
    const cache = open(cluster.urls, { writeConsistency: 'all' });
    const { calls, loader } = manualLoader<{ name: string }>();
    const waiters = Array.from({ length: 10 }, () =>
      cache.getOrSet('gos:user', loader, { ttl: 60_000 }),
    );
    await waitFor(() => calls.length > 0, 'the load to start');
    calls[0]!.resolve({ name: 'Ada' });
    expect(await Promise.all(waiters)).toStrictEqual(waiters.map(() => ({ name: 'Ada' })));
    expect(calls).toHaveLength(1);
    // The store was queued before the waiters resumed: a read made now comes after it.
    expect(await cache.getOrSet('gos:user', () => ({ name: 'not loaded' }))).toStrictEqual({
      name: 'Ada',
    });
    const replicas = cache.nodesFor('gos:user');
    await cache.close();
    expect(holders(cluster.nodes, 'gos:user').sort()).toStrictEqual([...replicas].sort());
    const ttl = cluster.nodes.find((node) => node.url === replicas[0])!.entry('gos:user')!.ttl!;
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60_000);
    expect(reports).toStrictEqual([]);
  });

  it('a write of the key made during the load wins; the waiters still get the loaded value', async () => {
    const cache = open();
    const { calls, loader } = manualLoader<string>();
    const waiter = cache.getOrSet('gos:raced', loader);
    await waitFor(() => calls.length > 0, 'the load to start');
    expect(await cache.set('gos:raced', 'newer')).toBe(true);
    calls[0]!.resolve('loaded');
    expect(await waiter).toBe('loaded');
    expect(await cache.get('gos:raced')).toBe('newer');
    // Losing the add is the intended outcome, not a failure.
    await cache.close();
    expect(reports).toStrictEqual([]);
  });

  it('a loader that rejects rejects every waiter, stores nothing, and the next call loads afresh', async () => {
    const cache = open();
    const { calls, loader } = manualLoader<string>();
    const waiters = [cache.getOrSet('gos:failing', loader), cache.getOrSet('gos:failing', loader)];
    await waitFor(() => calls.length > 0, 'the load to start');
    const failure = new Error('database down');
    calls[0]!.reject(failure);
    for (const outcome of await Promise.allSettled(waiters)) {
      expect(outcome).toStrictEqual({ status: 'rejected', reason: failure });
    }
    expect(calls).toHaveLength(1);
    expect(await cache.get('gos:failing')).toBeUndefined();
    expect(await cache.getOrSet('gos:failing', () => 'second try')).toBe('second try');
    expect(await cache.get('gos:failing')).toBe('second try');
  });

  it('a loader that throws synchronously rejects the call and stores nothing', async () => {
    const cache = open();
    const failure = new TypeError('bad query');
    await expect(
      cache.getOrSet('gos:throws', () => {
        throw failure;
      }),
    ).rejects.toBe(failure);
    expect(await cache.get('gos:throws')).toBeUndefined();
  });

  it('undefined is returned but not stored (the next call loads again); null is stored', async () => {
    const cache = open();
    let loads = 0;
    const nothing = (): undefined => {
      loads++;
      return undefined;
    };
    expect(await cache.getOrSet('gos:undefined', nothing)).toBeUndefined();
    expect(await cache.getOrSet('gos:undefined', nothing)).toBeUndefined();
    expect(loads).toBe(2);
    expect(await cache.has('gos:undefined')).toBe(false);
    expect(await cache.getOrSet('gos:null', () => null)).toBeNull();
    expect(await cache.has('gos:null')).toBe(true);
  });

  it('a loaded value that cannot be stored (a function) rejects, as set would', async () => {
    const cache = open();
    await expect(cache.getOrSet('gos:function', () => () => 1)).rejects.toThrow(
      /function cannot be stored/,
    );
    expect(await cache.has('gos:function')).toBe(false);
  });

  it('a load that ends after close() still answers its waiters', async () => {
    const cache = open();
    const { calls, loader } = manualLoader<string>();
    const waiter = cache.getOrSet('gos:closing', loader);
    await waitFor(() => calls.length > 0, 'the load to start');
    await cache.close();
    calls[0]!.resolve('late');
    expect(await waiter).toBe('late');
    expect(holders(cluster.nodes, 'gos:closing')).toStrictEqual([]);
  });

  it.each([
    ['delete', (cache: DistributedCacheClient, key: string) => cache.delete(key)],
    ['deleteMany', (cache: DistributedCacheClient, key: string) => cache.deleteMany([key])],
    ['flush', (cache: DistributedCacheClient) => cache.flush()],
  ] as const)(
    '%s during a load: its value is not stored, and a getOrSet made after it loads afresh',
    async (_name, invalidate) => {
      const cache = open();
      const key = `gos:invalidated:${_name}`;
      const { calls, loader } = manualLoader<string>();
      const before = cache.getOrSet(key, loader);
      await waitFor(() => calls.length === 1, 'the first load to start');
      const invalidated = invalidate(cache, key);
      const after = cache.getOrSet(key, loader);
      // Joining the older load would leave this at 1 until the wait times out.
      await waitFor(() => calls.length === 2, 'a fresh load');
      calls[0]!.resolve('before the invalidation');
      expect(await before).toBe('before the invalidation');
      await invalidated;
      expect(await cache.get(key)).toBeUndefined();
      calls[1]!.resolve('after the invalidation');
      expect(await after).toBe('after the invalidation');
      expect(await cache.get(key)).toBe('after the invalidation');
    },
  );
});

describe('getOrSet when the cache fails', () => {
  it('every node unreachable: the loaded value is returned and the failed store reported', async () => {
    const own = await startCluster(2);
    const cache = open(own.urls, { failureThreshold: 1 });
    await own.close();
    let loads = 0;
    expect(await cache.getOrSet('gos:down', () => `loaded ${++loads}`)).toBe('loaded 1');
    await waitFor(() => reports.length > 0, 'the store failure to be reported');
    const [[error, context]] = reports as [[Error, BackgroundErrorContext]];
    expect(isCacheUnavailableError(error)).toBe(true);
    expect(context).toStrictEqual({ operation: 'get-or-set-store', key: 'gos:down' });
  });

  it("a value over the nodes' limit is returned, not stored, and the refusal reported", async () => {
    const own = await startCluster(2, { maxValueBytes: '1kb' });
    try {
      const cache = open(own.urls, { writeConsistency: 'all' });
      const big = 'x'.repeat(4096);
      expect(await cache.getOrSet('gos:big', () => big)).toBe(big);
      await cache.close();
      expect(holders(own.nodes, 'gos:big')).toStrictEqual([]);
      expect(reports).toHaveLength(1);
      const [[error, context]] = reports as [[Error, BackgroundErrorContext]];
      expect(isOperationRejectedError(error) && error.code).toBe('too_large');
      expect(context).toStrictEqual({
        operation: 'get-or-set-store',
        key: 'gos:big',
        node: cache.nodesFor('gos:big')[0],
      });
    } finally {
      await own.close();
    }
  });

  it('a node refusing the read (a wrong token) rejects the call without loading', async () => {
    const own = await startCluster(2, { token: 's3cret' });
    try {
      const cache = open(own.urls, { token: 'wrong' });
      let loads = 0;
      const error: unknown = await cache
        .getOrSet('gos:auth', () => ++loads)
        .catch((e: unknown) => e);
      expect(isNodeRequestError(error) && error.status).toBe(401);
      expect(loads).toBe(0);
    } finally {
      await own.close();
    }
  });
});
