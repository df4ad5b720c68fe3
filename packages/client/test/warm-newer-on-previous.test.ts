// With `replicas` 2 and both of a key's owners new (two nodes added in one window), a client that
// has not seen the change yet writes or deletes the key on its old owners, through CLI-started
// nodes. The moved client's read finds the newer copy (or tombstone) there: every new owner must
// get it, not only the one that answered — otherwise the other keeps the older copy, which a read
// failing over to it serves once the window has closed (or by a client that never had one).
import { afterEach, describe, expect, it } from 'vitest';
import { DistributedCacheClient } from '../src/index.js';
import { startRingChangeNodes, stopCliNodes } from './cli-nodes.js';
import { waitFor } from './cluster.js';

const clients: DistributedCacheClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  await stopCliNodes();
});

// About one key in twenty has d then e as its owners, wherever the nodes' ports put them on the
// ring: 4000 candidates give ~200 (400 gave ~20, and fewer than the 8 needed about once a thousand
// runs).
const KEYS = Array.from({ length: 4000 }, (_, i) => `newer:${i}`);

function connect(nodes: readonly string[], maxWindowMs: number): DistributedCacheClient {
  const client = new DistributedCacheClient([...nodes], {
    replicas: 2,
    writeConsistency: 'all',
    timeout: 5000,
    transition: { maxWindowMs, quietMs: Math.max(1, maxWindowMs) },
  });
  clients.push(client);
  return client;
}

describe('a newer copy on a previous owner, replicas 2', () => {
  it('reaches every new owner of the key, so a failover after the window reads it', async () => {
    const [a, b, c, d, e] = await startRingChangeNodes(5);
    const old = [a!.url, b!.url, c!.url];
    const moved = connect(old, 60_000);
    const lagging = connect(old, 60_000);
    moved.addNode(d!.url);
    moved.addNode(e!.url);
    // Keys both of whose owners are new, d first: nothing of them stays where it was.
    const both = KEYS.filter((key) => {
      const [first, second] = moved.nodesFor(key);
      return first === d!.url && second === e!.url;
    }).slice(0, 8);
    expect(both.length).toBe(8);
    const rewritten = both.filter((_, i) => i % 2 === 0);
    const deleted = both.filter((_, i) => i % 2 === 1);
    for (const key of both) expect(await moved.set(key, 'v1')).toBe(true);
    // Stamped later than the moved client's writes (the clocks read the same wall time).
    await new Promise((resolve) => setTimeout(resolve, 5));
    for (const key of rewritten) expect(await lagging.set(key, 'v2')).toBe(true);
    for (const key of deleted) await lagging.delete(key);
    // The moved client reads the newest: the lagging client's write or delete.
    for (const key of rewritten) expect(await moved.get(key)).toBe('v2');
    for (const key of deleted) expect(await moved.get(key)).toBeUndefined();
    // What the moved client now serves from its new owners: the copies are sent in the background.
    await waitFor(async () => {
      for (const key of both) {
        if ((await moved.get(key)) !== (rewritten.includes(key) ? 'v2' : undefined)) return false;
      }
      return true;
    }, 'the newest to reach the primary');

    // d gone, a client on the new ring without a window reads each key on its other owner, e.
    await d!.stop();
    const after = connect([...old, d!.url, e!.url], 0);
    const wrong: string[] = [];
    for (const key of both) {
      const value = await after.get(key);
      if (value !== (rewritten.includes(key) ? 'v2' : undefined))
        wrong.push(`${key}=${String(value)}`);
    }
    expect(wrong).toStrictEqual([]);
  });
});
