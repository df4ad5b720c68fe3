// getMany, deleteMany, hasMany and setMany through Keyv when the cluster goes down after the namespace token was read:
// the outage is reported (an 'error'), not answered as silent misses.
import { DistributedCacheClient } from '@dcache/client';
import Keyv from 'keyv';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { DcacheKeyvStore } from '../src/index.js';
import { startNode, stopNodes } from './cluster.js';

const clients: DistributedCacheClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
});
afterAll(stopNodes);

async function killed(nodes: Awaited<ReturnType<typeof startNode>>[]): Promise<void> {
  await Promise.all(
    nodes.map(async (node) => {
      const exited = new Promise((resolve) => node.child.once('exit', resolve));
      node.child.kill('SIGKILL');
      await exited;
    }),
  );
}

describe('a cluster down after the token was read', () => {
  it("getMany's first call to find the nodes down emits an 'error'", async () => {
    const started = [await startNode(), await startNode()];
    const client = new DistributedCacheClient(
      started.map((node) => node.url),
      { replicas: 2, timeout: 500 },
    );
    clients.push(client);
    const keyv = new Keyv({ store: new DcacheKeyvStore({ client }), namespace: 'o' });
    const errors: unknown[] = [];
    keyv.on('error', (error) => errors.push(error));
    await keyv.set('a', 1);
    expect(await keyv.get(['a', 'b'])).toEqual([1, undefined]);
    await killed(started);
    expect(await keyv.get(['a', 'b'])).toEqual([undefined, undefined]);
    expect(errors).toHaveLength(1);
    expect((errors[0] as Error).name).toBe('CacheUnavailableError');
    // Once the client knows the nodes down (failureThreshold), their keys are quiet misses.
    for (let i = 0; i < 20 && client.nodesFor('a').length > 0; i++) await keyv.get(['a', 'b']);
    expect(client.nodesFor('a')).toEqual([]);
    const seen = errors.length;
    expect(await keyv.get(['a', 'b'])).toEqual([undefined, undefined]);
    expect(errors).toHaveLength(seen);
  });

  it("deleteMany's first call to find the nodes down emits an 'error'", async () => {
    const started = [await startNode(), await startNode()];
    const client = new DistributedCacheClient(
      started.map((node) => node.url),
      { replicas: 2, timeout: 500 },
    );
    clients.push(client);
    const keyv = new Keyv({ store: new DcacheKeyvStore({ client }), namespace: 'p' });
    const errors: unknown[] = [];
    keyv.on('error', (error) => errors.push(error));
    await keyv.set('a', 1);
    await killed(started);
    expect(await keyv.deleteMany(['a', 'b'])).toBe(false);
    expect(errors.length).toBeGreaterThan(0);
  });

  it('hasMany and setMany report it once per call, not once per key', async () => {
    const started = [await startNode(), await startNode()];
    const client = new DistributedCacheClient(
      started.map((node) => node.url),
      { replicas: 2, timeout: 500 },
    );
    clients.push(client);
    const keyv = new Keyv({ store: new DcacheKeyvStore({ client }), namespace: 'q' });
    const errors: unknown[] = [];
    keyv.on('error', (error) => errors.push(error));
    await keyv.set('a', 1);
    await killed(started);
    const keys = Array.from({ length: 20 }, (_, i) => `k${i}`);
    expect(await keyv.hasMany(keys)).toEqual(keys.map(() => false));
    expect(errors).toHaveLength(1);
    expect((errors[0] as Error).name).toBe('CacheUnavailableError');
    // None when the hasMany already made the client mark both nodes down, else one.
    const before = errors.length;
    expect(await keyv.setMany(keys.map((key) => ({ key, value: key })))).toEqual(
      keys.map(() => false),
    );
    expect(errors.length - before).toBeLessThanOrEqual(1);
  });
});
