import { afterEach, describe, expect, it } from 'vitest';
import {
  DistributedCacheClient,
  isCacheUnavailableError,
  isNodeTimeoutError,
} from '../src/index.js';
import { startBlackHole, startCluster, startHoldingProxy, TestNode, waitFor } from './cluster.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('a node that accepts connections but never answers', () => {
  it('times out, then is marked down and skipped without sending it anything', async () => {
    const hole = await startBlackHole();
    cleanups.push(hole.close);
    const client = new DistributedCacheClient([hole.url], {
      timeout: 1000,
      failureThreshold: 2,
      probeInterval: 60_000,
    });
    cleanups.push(() => client.close());

    for (let attempt = 0; attempt < 2; attempt++) {
      const started = Date.now();
      const error: unknown = await client.get('k').catch((e: unknown) => e);
      // Never a hang: the timeout bounds the call (generous slack for a loaded machine).
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(isCacheUnavailableError(error)).toBe(true);
      expect(error).toMatchObject({ nodes: [hole.url] });
      const [cause] = (error as { errors: unknown[] }).errors;
      expect(isNodeTimeoutError(cause)).toBe(true);
      expect(cause).toMatchObject({ node: hole.url, timeout: 1000 });
    }
    // Marked down: no replica left for any key (nodesFor asks no node).
    expect(client.nodesFor('k')).toStrictEqual([]);
    await hole.settled();
    const requests = hole.requests();
    const error: unknown = await client.set('k', 1).catch((e: unknown) => e);
    expect(isCacheUnavailableError(error)).toBe(true);
    expect((error as Error).message).toContain('all marked down');
    await hole.settled();
    expect(hole.requests()).toBe(requests);
    expect((await client.getStats()).nodes[0]).toMatchObject({
      up: false,
      error: expect.any(Error),
    });
  });

  it('a timed-out request gives its connection up instead of holding it open', async () => {
    const hole = await startBlackHole();
    cleanups.push(hole.close);
    const client = new DistributedCacheClient([hole.url], { timeout: 500, probeInterval: 60_000 });
    cleanups.push(() => client.close());
    const error: unknown = await client.get('k').catch((e: unknown) => e);
    expect(isCacheUnavailableError(error)).toBe(true);
    await hole.settled();
    expect(hole.requests()).toBe(1);
    // The caller was told at the timeout; the request itself must not linger on its socket.
    // (undici may then open a fresh idle connection in its place: that one carries no request.)
    await waitFor(() => hole.openRequests() === 0, 'the client closes the unanswered connection');
  });

  it('in a cluster its keys are served by the other replicas, and it stops being tried', async () => {
    const cluster = await startCluster(2);
    cleanups.push(cluster.close);
    const hole = await startBlackHole();
    cleanups.push(hole.close);
    const urls = [...cluster.urls, hole.url];
    const client = new DistributedCacheClient(urls, {
      // Long enough that the live in-process nodes never time out on a loaded machine.
      timeout: 3000,
      failureThreshold: 2,
      probeInterval: 60_000,
    });
    cleanups.push(() => client.close());
    const keys = Array.from({ length: 60 }, (_, i) => `bh:${i}`);
    const onHole = keys.filter((key) => client.nodesFor(key)[0] === hole.url);
    expect(onHole.length).toBeGreaterThan(0);
    // A key whose primary is the hole: the live replica stored it, but the primary never
    // acknowledged, so the set is only partly done (false). The others answer at their primary.
    expect(await Promise.all(keys.map((key) => client.set(key, key)))).toStrictEqual(
      keys.map((key) => !onHole.includes(key)),
    );
    for (const key of keys) expect(await client.get(key)).toBe(key);
    for (const key of onHole) expect(client.nodesFor(key)).not.toContain(hole.url);
    // Only the client's operations: the live nodes hold hints for the hole and probe its
    // /healthz on their own schedule (each probe a fresh connection, given up unanswered).
    await hole.settled();
    const batches = hole.requests('POST /v1/batch');
    for (const key of onHole) expect(await client.get(key)).toBe(key);
    await hole.settled();
    expect(hole.requests('POST /v1/batch')).toBe(batches);
    expect((await client.getStats()).nodes.map((node) => node.up)).toStrictEqual([
      true,
      true,
      false,
    ]);
  });
});

describe('an operation queued behind a slow batch', () => {
  it('gets only what is left of its timeout on the wire, not a whole timeout more', async () => {
    const node = await TestNode.start();
    cleanups.push(() => node.kill());
    const proxy = await startHoldingProxy(node.url);
    cleanups.push(proxy.close);
    const timeout = 4000;
    const client = new DistributedCacheClient([proxy.url], {
      timeout,
      replicas: 1,
      failureThreshold: 100,
      probeInterval: 60_000,
    });
    cleanups.push(() => client.close());
    const firstSent = performance.now();
    const first = client.get('first').catch((e: unknown) => e);
    await waitFor(() => proxy.held() === 1, 'the first batch to be on the wire');
    // Queued behind the first batch (one batch per node in flight): its time runs from now.
    const queuedAt = performance.now();
    const second = client.get('second').catch((e: unknown) => e);
    // Builds the situation, not a wait for a result: the first is answered halfway into its own
    // timeout, counted from when it was sent (a loaded machine may take a while to get it to the
    // proxy), so its answer has the other half to get back.
    await new Promise((resolve) =>
      setTimeout(resolve, firstSent + timeout / 2 - performance.now()),
    );
    const queuedFor = performance.now() - queuedAt;
    expect(
      queuedFor,
      'the first batch took most of its timeout to reach the proxy',
    ).toBeGreaterThan(timeout / 4);
    proxy.releaseOne();
    expect(await first).toBeUndefined();
    // The second batch is never answered. It leaves only once the first answer is in, so a client
    // that starts its timer on the wire fails at least queuedFor + timeout after it was queued;
    // one that counts from the queue fails at timeout, plus what load delays its timer by. The
    // bound sits halfway between.
    const error = await second;
    const elapsed = performance.now() - queuedAt;
    expect(isCacheUnavailableError(error)).toBe(true);
    expect(isNodeTimeoutError((error as { errors: unknown[] }).errors[0])).toBe(true);
    expect(elapsed, `queued for ${queuedFor.toFixed(0)} ms`).toBeLessThan(timeout + queuedFor / 2);
  });
});
