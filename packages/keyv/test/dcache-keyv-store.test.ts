import { DistributedCacheClient } from '@dcache/client';
import Keyv from 'keyv';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { generationKey } from '../src/generations.js';
import { DcacheKeyvStore } from '../src/index.js';
import { startResponder } from '../../client/test/dns-responder.js';
import { startNode, startNodes, stopNodes } from './cluster.js';
import { keyOnTheNodes } from './stored.js';

let nodes: string[];
const clients: DistributedCacheClient[] = [];

/** A client of its own: what another process sharing the cluster would have. */
function newClient(): DistributedCacheClient {
  const client = new DistributedCacheClient(nodes, { replicas: 2 });
  clients.push(client);
  return client;
}

beforeAll(async () => {
  nodes = await startNodes(2);
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
});

afterAll(stopNodes);

describe('clear()', () => {
  it('reaches a store over another client (another process) at once with generationCacheMs 0', async () => {
    const here = new Keyv({ store: new DcacheKeyvStore({ client: newClient() }), namespace: 'a' });
    const there = new Keyv({
      store: new DcacheKeyvStore({ client: newClient(), generationCacheMs: 0 }),
      namespace: 'a',
    });
    await here.set('user', 'Ada');
    expect(await there.get('user')).toBe('Ada');
    await here.clear();
    expect(await there.get('user')).toBeUndefined();
    expect(await here.get('user')).toBeUndefined();
  });

  it('reaches a store over another client within generationCacheMs', async () => {
    const here = new Keyv({ store: new DcacheKeyvStore({ client: newClient() }), namespace: 'b' });
    const there = new Keyv({
      store: new DcacheKeyvStore({ client: newClient(), generationCacheMs: 200 }),
      namespace: 'b',
    });
    await here.set('user', 'Ada');
    expect(await there.get('user')).toBe('Ada');
    await here.clear();
    // The documented window: the other process may still read the old generation for a while…
    const deadline = performance.now() + 2_000;
    while ((await there.get('user')) !== undefined && performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    // …but not for longer than the option says (2 s covers a loaded machine).
    expect(await there.get('user')).toBeUndefined();
  });

  it('leaves other namespaces and keys written without Keyv alone', async () => {
    const client = newClient();
    const a = new Keyv({ store: new DcacheKeyvStore({ client }), namespace: 'c1' });
    const b = new Keyv({ store: new DcacheKeyvStore({ client }), namespace: 'c2' });
    await a.set('k', 1);
    await b.set('k', 2);
    await client.set('plain', 'untouched');
    await a.clear();
    expect(await a.get('k')).toBeUndefined();
    expect(await b.get('k')).toBe(2);
    expect(await client.get('plain')).toBe('untouched');
  });

  it("keeps a write made after clear() was called, before it resolved, as Keyv's Map store does", async () => {
    const keyv = new Keyv({ store: new DcacheKeyvStore({ client: newClient() }), namespace: 'e' });
    await keyv.set('before', 'old');
    const cleared = keyv.clear();
    await keyv.set('after', 'new');
    await cleared;
    expect(await keyv.get('before')).toBeUndefined();
    expect(await keyv.get('after')).toBe('new');
  });

  it('never revives old keys when the generation key itself is lost (evicted)', async () => {
    const client = newClient();
    const keyv = new Keyv({
      store: new DcacheKeyvStore({ client, generationCacheMs: 0 }),
      namespace: 'd',
    });
    await keyv.set('before-clear', 'old');
    await keyv.clear();
    await keyv.set('after-clear', 'new');
    // What an LRU eviction of the generation key would do.
    await client.delete(generationKey('d'));
    expect(await keyv.get('before-clear')).toBeUndefined();
    // A lost generation reads as a clear: a miss, never a stale value.
    expect(await keyv.get('after-clear')).toBeUndefined();
    await keyv.set('fresh', 'value');
    expect(await keyv.get('fresh')).toBe('value');
  });
});

describe('TTL', () => {
  it('reaches the nodes: the stored key is gone from the cluster after the TTL', async () => {
    const client = newClient();
    const keyv = new Keyv({ store: new DcacheKeyvStore({ client }), namespace: 'ttl' });
    // Long enough that the reads before it runs out finish in time on a loaded machine.
    const ttl = 2000;
    const setAt = performance.now();
    await keyv.set('short', 'lived', ttl);
    await keyv.set('fractional', 'ms', ttl - 0.5);
    const stored = await keyOnTheNodes(client, 'ttl', 'short');
    const entry = await client.getVersioned(stored);
    expect(entry?.ttl).toBeGreaterThan(0);
    expect(entry?.ttl).toBeLessThanOrEqual(ttl);
    // 1999.5 ms travels as 2000: the client takes whole milliseconds.
    const fractional = await client.getVersioned(await keyOnTheNodes(client, 'ttl', 'fractional'));
    expect(fractional?.ttl).toBeGreaterThan(0);
    expect(fractional?.ttl).toBeLessThanOrEqual(ttl);
    await new Promise((resolve) => setTimeout(resolve, setAt + ttl + 150 - performance.now()));
    expect(await client.get(stored)).toBeUndefined();
    expect(await keyv.get('short')).toBeUndefined();
  });

  it('without a TTL, keeps the key on the nodes (the nodes default to no expiry)', async () => {
    const client = newClient();
    const keyv = new Keyv({ store: new DcacheKeyvStore({ client }), namespace: 'ttl' });
    await keyv.set('forever', 1);
    const entry = await client.getVersioned(await keyOnTheNodes(client, 'ttl', 'forever'));
    expect(entry?.ttl).toBeUndefined();
  });
});

describe('values', () => {
  it('round-trips objects Keyv hands over unserialized (serialize: undefined), as msgpack', async () => {
    const keyv = new Keyv({
      store: new DcacheKeyvStore({ client: newClient() }),
      namespace: 'raw',
    });
    keyv.serialize = undefined;
    keyv.deserialize = undefined;
    const since = new Date('2020-02-02T00:00:00Z');
    await keyv.set('profile', { name: 'Ada', since });
    expect(await keyv.get('profile')).toEqual({ name: 'Ada', since });
  });

  it('setMany and getMany keep order, with misses as undefined', async () => {
    const keyv = new Keyv({ store: new DcacheKeyvStore({ client: newClient() }), namespace: 'm' });
    expect(
      await keyv.setMany([
        { key: 'x', value: 1 },
        { key: 'y', value: 2, ttl: 60_000 },
      ]),
    ).toEqual([true, true]);
    expect(await keyv.get(['y', 'missing', 'x'])).toEqual([2, undefined, 1]);
  });

  it('hasMany answers per key in order, in one batch per node rather than a has after another', async () => {
    const client = newClient();
    const store = new DcacheKeyvStore({ client });
    const keyv = new Keyv({ store, namespace: 'h' });
    const keys = Array.from({ length: 300 }, (_, i) => `h${i}`);
    await keyv.setMany(keys.filter((_, i) => i % 3 === 0).map((key) => ({ key, value: key })));
    const before = client.getBatchingStats().batches;
    const found = await keyv.hasMany(keys);
    expect(found).toEqual(keys.map((_, i) => i % 3 === 0));
    // Keyv's fallback asks one key after another: a batch each. The store's hasMany batches them.
    expect(client.getBatchingStats().batches - before).toBeLessThan(keys.length / 10);
  });

  it('an entry the nodes refuse fails alone: setMany and getMany answer the others, one error each', async () => {
    const keyv = new Keyv({ store: new DcacheKeyvStore({ client: newClient() }), namespace: 'r' });
    const errors: unknown[] = [];
    keyv.on('error', (error) => errors.push(error));
    // A value over the nodes' 1 MiB limit; as Keyv's own fallback over set answers, per entry.
    expect(
      await keyv.setMany([
        { key: 'm1', value: 'small' },
        { key: 'm2', value: 'x'.repeat(2_000_000) },
        { key: 'm3', value: 'small3' },
      ]),
    ).toEqual([true, false, true]);
    expect(errors).toHaveLength(1);
    // A key over the nodes' --max-key-bytes: the others are still found.
    expect(await keyv.get(['m1', 'k'.repeat(300), 'm3'])).toEqual(['small', undefined, 'small3']);
    expect(errors).toHaveLength(2);
  });

  it("deleteMany answers as Keyv's own fallback over delete: true for no keys, false for a repeated key", async () => {
    const keyv = new Keyv({ store: new DcacheKeyvStore({ client: newClient() }), namespace: 'd' });
    expect(await keyv.deleteMany([])).toBe(true);
    await keyv.set('e', 1);
    await keyv.set('f', 2);
    expect(await keyv.deleteMany(['e', 'e'])).toBe(false);
    expect(await keyv.get('e')).toBeUndefined();
    await keyv.set('e', 1);
    expect(await keyv.deleteMany(['e', 'f'])).toBe(true);
    expect(await keyv.deleteMany(['e', 'f'])).toBe(false);
  });

  it('reads a TTL as Keyv does: Infinity (or past 2^53 − 1 ms) never expires, NaN sets none', async () => {
    const client = newClient();
    const keyv = new Keyv({ store: new DcacheKeyvStore({ client }), namespace: 't' });
    expect(await keyv.set('forever', 'v', Infinity)).toBe(true);
    expect(await keyv.set('nan', 'v', Number.NaN)).toBe(true);
    expect(await keyv.set('beyond', 'v', 2 ** 60)).toBe(true);
    expect(await keyv.get('forever')).toBe('v');
    expect(await keyv.get('nan')).toBe('v');
    expect(await keyv.get('beyond')).toBe('v');
    // Stored on the nodes without a TTL.
    for (const key of ['forever', 'nan', 'beyond']) {
      const entry = await client.getVersioned(await keyOnTheNodes(client, 't', key));
      expect(entry).toBeDefined();
      expect(entry!.ttl).toBeUndefined();
    }
  });
});

describe('errors', () => {
  async function deadNodeStore(options: { throwOnErrors?: boolean } = {}) {
    const node = await startNode();
    node.child.kill('SIGKILL');
    await new Promise((resolve) => node.child.once('exit', resolve));
    return new DcacheKeyvStore({ nodes: [node.url], clientOptions: { timeout: 500 }, ...options });
  }

  it("emits a cluster failure once on Keyv's 'error' and answers as a miss", async () => {
    const store = await deadNodeStore();
    const keyv = new Keyv({ store });
    const errors: unknown[] = [];
    keyv.on('error', (error) => errors.push(error));
    expect(await keyv.get('k')).toBeUndefined();
    expect(errors).toHaveLength(1);
    expect(await keyv.set('k', 'v')).toBe(false);
    expect(errors).toHaveLength(2);
    expect(await keyv.delete('k')).toBe(false);
    expect(await keyv.has('k')).toBe(false);
    expect(await keyv.get(['a', 'b'])).toEqual([undefined, undefined]);
    await keyv.clear();
    expect(errors).toHaveLength(6);
    for (const error of errors) expect((error as Error).name).toMatch(/Error$/);
    expect((errors[0] as Error).name).toBe('CacheUnavailableError');
    await keyv.disconnect();
  });

  it('rejects instead, emitting nothing, with throwOnErrors', async () => {
    const store = await deadNodeStore({ throwOnErrors: true });
    const errors: unknown[] = [];
    store.on('error', (error) => errors.push(error));
    await expect(store.get('k')).rejects.toMatchObject({ name: 'CacheUnavailableError' });
    await expect(store.set('k', 'v')).rejects.toMatchObject({ name: 'CacheUnavailableError' });
    expect(errors).toEqual([]);
    // Keyv's own throwOnErrors then hands it to the caller.
    const keyv = new Keyv({ store, throwOnErrors: true });
    await expect(keyv.get('k')).rejects.toMatchObject({ name: 'CacheUnavailableError' });
    await store.disconnect();
  });

  it('rejects bad arguments whatever throwOnErrors says', async () => {
    const store = new DcacheKeyvStore({ client: newClient() });
    await expect(store.set('k', 'v', -5)).rejects.toThrow(RangeError);
    await expect(store.set('k', undefined)).rejects.toThrow(TypeError);
  });
});

describe('disconnect()', () => {
  it('closes a client the store made, and leaves a client you passed open', async () => {
    const made = new DcacheKeyvStore({ nodes });
    await made.set('k', 'v');
    await made.disconnect();
    await expect(made.client.get('k')).rejects.toThrow('the client is closed');

    const client = newClient();
    const passed = new DcacheKeyvStore({ client });
    await passed.disconnect();
    expect(await client.get('anything')).toBeUndefined();
  });
});

describe('nodes: a discovery URL', () => {
  it('makes a client that finds the nodes in DNS, and disconnect() closes it', async () => {
    const port = new URL(nodes[0]!).port;
    const dns = await startResponder({ hosts: { 'dcache.keyv.test': ['127.0.0.1'] } });
    try {
      const store = new DcacheKeyvStore({
        nodes: `dns://dcache.keyv.test:${port}`,
        clientOptions: { discovery: { servers: [dns.server] } },
      });
      const keyv = new Keyv({ store, namespace: 'found' });
      expect(await keyv.set('k', 'through DNS')).toBe(true);
      expect(await keyv.get('k')).toBe('through DNS');
      expect(store.client.nodes).toEqual([`http://127.0.0.1:${port}`]);
      expect(dns.queries()).toBeGreaterThan(0);
      await keyv.disconnect();
      await expect(store.client.get('k')).rejects.toThrow('the client is closed');
    } finally {
      await dns.close();
    }
  });
});

describe('options', () => {
  it.each([
    [undefined, /options must be an object, got undefined/],
    [{}, /exactly one of the options client and nodes/],
    [{ nodes: ['http://127.0.0.1:1'], client: {} }, /exactly one of the options client and nodes/],
    [{ client: {} }, /option client must be a DistributedCacheClient, got an object/],
    [{ nodes: 5 }, /option nodes must be an array or a discovery URL, got 5/],
    // A string goes to the client, which names it: a fixed list is an array.
    [{ nodes: 'http://127.0.0.1:1' }, /nodes must be an array .* got "http:\/\/127.0.0.1:1"/],
    [{ nodes: [], throwOnErrors: 'yes' }, /option throwOnErrors must be a boolean, got "yes"/],
    [{ nodes: [], generationCacheMs: -1 }, /option generationCacheMs must be .* got -1/],
    [{ nodes: [], ttl: 5 }, /unknown option "ttl"/],
    [{ nodes: ['http://127.0.0.1:1'], clientOptions: 5 }, /clientOptions must be an object, got 5/],
    [{ nodes: ['http://127.0.0.1:1'], clientOptions: null }, /clientOptions must be .* got null/],
    // The client's own check, which the store's wrapping of the hook must not bypass.
    [
      { nodes: ['http://127.0.0.1:1'], clientOptions: { onBackgroundError: 'log' } },
      /option "onBackgroundError" must be a function, got string/,
    ],
  ])('refuses %j', (options, message) => {
    expect(() => new DcacheKeyvStore(options as never)).toThrow(message);
  });

  it('refuses clientOptions with a client of your own', () => {
    expect(
      () => new DcacheKeyvStore({ client: newClient(), clientOptions: { timeout: 5 } }),
    ).toThrow(/clientOptions applies only with nodes/);
  });
});
