// cache-manager 7 with two tiers: @dcache/core in process, in front of dcache nodes started through the CLI.
import { DistributedCacheClient } from '@dcache/client';
import { createCache } from 'cache-manager';
import Keyv from 'keyv';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DcacheKeyvStore, DcacheMemoryStore } from '../src/index.js';
import { startNodes, stopNodes } from './cluster.js';
import { keyOnTheNodes } from './stored.js';

const NAMESPACE = 'app';
let client: DistributedCacheClient;
let memory: DcacheMemoryStore;
let cache: ReturnType<typeof createCache>;

beforeAll(async () => {
  client = new DistributedCacheClient(await startNodes(3), { replicas: 2 });
});

/** A process's cache: its own in-process tier, the shared cluster behind it. */
function processCache(options: { nonBlocking?: boolean } = {}) {
  memory = new DcacheMemoryStore({ maxMemory: 1024 * 1024 });
  return createCache({
    ...options,
    stores: [
      new Keyv({ store: memory, namespace: NAMESPACE }),
      new Keyv({ store: new DcacheKeyvStore({ client }), namespace: NAMESPACE }),
    ],
  });
}

afterEach(async () => {
  await cache?.clear();
});

afterAll(async () => {
  await client?.close();
  await stopNodes();
});

/** What the cluster holds for `key`, read past cache-manager and Keyv. */
async function inCluster(key: string): Promise<unknown> {
  const stored = await client.get<string>(await keyOnTheNodes(client, NAMESPACE, key));
  return stored === undefined ? undefined : (JSON.parse(stored) as { value: unknown }).value;
}

/** What the cluster holds for `key` once it is there, or after a second (nonBlocking writes). */
async function soonInCluster(key: string): Promise<unknown> {
  const deadline = performance.now() + 1_000;
  let value = await inCluster(key);
  while (value === undefined && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    value = await inCluster(key);
  }
  return value;
}

function inMemory(key: string): unknown {
  const stored = memory.cache.get(`${NAMESPACE}:${key}`) as string | undefined;
  return stored === undefined ? undefined : (JSON.parse(stored) as { value: unknown }).value;
}

describe('wrap() read-through', () => {
  it('calls the loader once, for concurrent callers too, and fills both tiers', async () => {
    cache = processCache();
    let loads = 0;
    const loader = async () => {
      loads += 1;
      await new Promise((resolve) => setTimeout(resolve, 20));
      return { name: 'Ada' };
    };
    const values = await Promise.all([
      cache.wrap('user:1', loader, 60_000),
      cache.wrap('user:1', loader, 60_000),
    ]);
    expect(values).toEqual([{ name: 'Ada' }, { name: 'Ada' }]);
    expect(await cache.wrap('user:1', loader, 60_000)).toEqual({ name: 'Ada' });
    expect(loads).toBe(1);
    expect(inMemory('user:1')).toEqual({ name: 'Ada' });
    expect(await inCluster('user:1')).toEqual({ name: 'Ada' });
  });

  it('in another process, reads the cluster and fills its in-process tier without loading', async () => {
    cache = processCache();
    await cache.wrap('user:2', async () => 'from the source', 60_000);
    cache = processCache();
    expect(inMemory('user:2')).toBeUndefined();
    let loads = 0;
    const value = await cache.wrap(
      'user:2',
      async () => {
        loads += 1;
        return 'loaded again';
      },
      60_000,
    );
    expect(value).toBe('from the source');
    expect(loads).toBe(0);
    expect(inMemory('user:2')).toBe('from the source');
  });
});

describe('TTLs', () => {
  it('expire in both tiers, and the cluster drops the key itself', async () => {
    cache = processCache();
    // Long enough that the checks before it runs out finish in time on a loaded machine (with 300
    // ms, a run beside the other packages' suites read the key after it had expired).
    const ttl = 2000;
    const setAt = performance.now();
    await cache.set('short', 'lived', ttl);
    const stored = await keyOnTheNodes(client, NAMESPACE, 'short');
    expect(inMemory('short')).toBe('lived');
    expect(await inCluster('short')).toBe('lived');
    await new Promise((resolve) => setTimeout(resolve, setAt + ttl + 150 - performance.now()));
    expect(await cache.get('short')).toBeUndefined();
    expect(memory.cache.get(`${NAMESPACE}:short`)).toBeUndefined();
    expect(await client.get(stored)).toBeUndefined();
  });
});

describe('deletes', () => {
  it('del() and mdel() reach both tiers', async () => {
    cache = processCache();
    await cache.mset([
      { key: 'a', value: 1 },
      { key: 'b', value: 2 },
      { key: 'c', value: 3 },
    ]);
    expect(await inCluster('a')).toBe(1);
    await cache.del('a');
    await cache.mdel(['b', 'c']);
    for (const key of ['a', 'b', 'c']) {
      expect(inMemory(key)).toBeUndefined();
      expect(await inCluster(key)).toBeUndefined();
    }
    expect(await cache.mget(['a', 'b', 'c'])).toEqual([undefined, undefined, undefined]);
  });

  it('clear() empties both tiers of this namespace only', async () => {
    cache = processCache();
    const other = new Keyv({ store: new DcacheKeyvStore({ client }), namespace: 'other' });
    await other.set('kept', true);
    await cache.set('gone', 1);
    await cache.clear();
    expect(inMemory('gone')).toBeUndefined();
    expect(await cache.get('gone')).toBeUndefined();
    expect(await other.get('kept')).toBe(true);
  });
});

describe('nonBlocking', () => {
  it('keeps a set made right after clear(), which returns before the stores have cleared', async () => {
    cache = processCache({ nonBlocking: true });
    await cache.set('before', 'old');
    expect(await soonInCluster('before')).toBe('old');
    await cache.clear();
    await cache.set('after', 'new');
    expect(await soonInCluster('after')).toBe('new');
    expect(await inCluster('before')).toBeUndefined();
  });
});
