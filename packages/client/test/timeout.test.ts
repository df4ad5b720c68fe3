import { afterEach, describe, expect, it } from 'vitest';
import {
  DistributedCacheClient,
  isCacheUnavailableError,
  isNodeTimeoutError,
} from '../src/index.js';
import { startBlackHole, startCluster, waitFor } from './cluster.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('a node that accepts connections but never answers', () => {
  it('times out, then is marked down and skipped without new connections', async () => {
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
    const connections = hole.connections();
    const error: unknown = await client.set('k', 1).catch((e: unknown) => e);
    expect(isCacheUnavailableError(error)).toBe(true);
    expect((error as Error).message).toContain('all marked down');
    expect(hole.connections()).toBe(connections);
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
    expect(hole.connections()).toBe(1);
    // The caller was told at the timeout; the request itself must not linger on its socket.
    // (undici may then open a fresh idle connection in its place: that one carries no request.)
    await waitFor(() => hole.closed() >= 1, 'the client closes the unanswered connection');
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
    // 'one' acknowledges from the live replica; the write to the hole times out in the background.
    expect(await Promise.all(keys.map((key) => client.set(key, key)))).toStrictEqual(
      keys.map(() => true),
    );
    for (const key of keys) expect(await client.get(key)).toBe(key);
    for (const key of onHole) expect(client.nodesFor(key)).not.toContain(hole.url);
    const connections = hole.connections();
    for (const key of onHole) expect(await client.get(key)).toBe(key);
    expect(hole.connections()).toBe(connections);
    expect((await client.getStats()).nodes.map((node) => node.up)).toStrictEqual([
      true,
      true,
      false,
    ]);
  });
});
