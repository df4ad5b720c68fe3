// A get-and-touch (and a touch) of a key whose new owner holds an older copy than its previous
// owner, during a transition window: the newest copy must win, as it does for a plain get — the
// touch must not first re-stamp the older copy above the newer one.
import { afterEach, expect, it } from 'vitest';
import { DistributedCacheClient } from '../src/index.js';
import type { ClientOptions } from '../src/index.js';
import { startRingChangeNodes, stopCliNodes } from './cli-nodes.js';
import type { CliNode } from './cli-nodes.js';

const clients: DistributedCacheClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  await stopCliNodes();
});

const KEYS = Array.from({ length: 200 }, (_, i) => `window-touch:${i}`);

function connect(nodes: readonly CliNode[], options: ClientOptions): DistributedCacheClient {
  // A generous timeout: CLI nodes on a loaded 2-core machine must not look failed.
  const client = new DistributedCacheClient(
    nodes.map((node) => node.url),
    { timeout: 5000, ...options },
  );
  clients.push(client);
  return client;
}

/**
 * Three nodes, then a fourth added by `client` (its window open for the whole test); a key that
 * moved to the new node is read once there (backfilled: the new owner holds 'old'), and then a
 * client that has not seen the change writes 'new' to the key's previous owner only.
 */
async function newerOnPreviousOwner(): Promise<{
  client: DistributedCacheClient;
  key: string;
  owner: CliNode;
}> {
  const [a, b, c, d] = await startRingChangeNodes(4);
  const window = { maxWindowMs: 60_000, quietMs: 60_000 };
  const client = connect([a!, b!, c!], { replicas: 1, transition: window });
  expect(await client.setMany(KEYS.map((key) => [key, 'old'] as const))).toBe(true);
  client.addNode(d!.url);
  const key = KEYS.find((k) => client.nodesFor(k)[0] === d!.url)!;
  expect(await client.get(key)).toBe('old');
  // The backfill copy to the new owner has landed.
  for (let i = 0; i < 100 && !(await d!.holds(key)); i++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  expect(await d!.holds(key)).toBe(true);
  const lagging = connect([a!, b!, c!], { replicas: 1 });
  expect(await lagging.set(key, 'new')).toBe(true);
  return { client, key, owner: d! };
}

/** The TTL the node reports for `key` (Dcache-Ttl), undefined when it has none or misses. */
async function ttlOn(node: CliNode, key: string): Promise<number | undefined> {
  const response = await fetch(`${node.url}/v1/keys/${encodeURIComponent(key)}`);
  await response.arrayBuffer();
  const ttl = response.headers.get('dcache-ttl');
  return ttl === null ? undefined : Number(ttl);
}

it('a plain get during the window serves the newer copy of the previous owner', async () => {
  const { client, key } = await newerOnPreviousOwner();
  expect(await client.get(key)).toBe('new');
});

it('a get-and-touch during the window serves the newer copy of the previous owner, and it stays', async () => {
  const { client, key, owner } = await newerOnPreviousOwner();
  expect(await ttlOn(owner, key)).toBeUndefined();
  expect(await client.getAndTouch(key, 60_000)).toBe('new');
  expect(await client.get(key)).toBe('new');
  // The new owner holds the newer value with the new TTL.
  expect(await ttlOn(owner, key)).toBeGreaterThan(50_000);
});

it('a touch during the window keeps the newer copy of the previous owner', async () => {
  const { client, key, owner } = await newerOnPreviousOwner();
  expect(await client.touch(key, 60_000)).toBe(true);
  expect(await client.get(key)).toBe('new');
  expect(await ttlOn(owner, key)).toBeGreaterThan(50_000);
});

it('an incr during the window counts on the newer count of the previous owner', async () => {
  const [a, b, c, d] = await startRingChangeNodes(4);
  const window = { maxWindowMs: 60_000, quietMs: 60_000 };
  const client = connect([a!, b!, c!], { replicas: 1, transition: window });
  for (const key of KEYS) expect(await client.incr(key, 1, { initial: 10 })).toBe(10);
  client.addNode(d!.url);
  const key = KEYS.find((k) => client.nodesFor(k)[0] === d!.url)!;
  expect(await client.get(key)).toBe(10);
  for (let i = 0; i < 100 && !(await d!.holds(key)); i++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const lagging = connect([a!, b!, c!], { replicas: 1 });
  expect(await lagging.incr(key, 5)).toBe(15);
  expect(await client.incr(key, 1)).toBe(16);
  expect(await client.get(key)).toBe(16);
});

it('a get-and-touch of a moved key leaves no copy that outlives its new TTL, on the previous owner either', async () => {
  const [a, b, c, d] = await startRingChangeNodes(4);
  const window = { maxWindowMs: 60_000, quietMs: 60_000 };
  const client = connect([a!, b!, c!], { replicas: 1, transition: window });
  expect(
    await client.setMany(
      KEYS.map((key) => [key, 'old'] as const),
      { ttl: 600_000 },
    ),
  ).toBe(true);
  client.addNode(d!.url);
  const key = KEYS.find((k) => client.nodesFor(k)[0] === d!.url)!;
  // Served by the previous owner (a fallback): the new owner gets it backfilled.
  expect(await client.getAndTouch(key, 800)).toBe('old');
  await new Promise((resolve) => setTimeout(resolve, 1200));
  // Still in the window: a miss on the new owner asks the previous owner again.
  expect((await client.getStats()).transition.open).toBe(true);
  expect(await client.get(key), 'served past the new TTL by the previous owner').toBeUndefined();
  // A client still on the ring before the change reads the previous owner only.
  const lagging = connect([a!, b!, c!], { replicas: 1 });
  expect(await lagging.get(key), 'served past the new TTL to a client on the earlier ring').toBe(
    undefined,
  );
});
