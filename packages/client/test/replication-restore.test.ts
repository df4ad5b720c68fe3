// Replication restored (issue #17, requirement 3): after a node returns empty, or leaves, every key
// gets back to `replicas` copies without waiting for its next set — counters included.
import { describe, expect, it } from 'vitest';
import { HashRing } from '@dcache/ring';
import { DistributedCacheClient } from '../src/index.js';
import type { ClientOptions } from '../src/index.js';
import { useNemesis } from './faults/use-nemesis.js';
import { rawGet, waitUntilHeld } from './raw-node.js';
import { waitFor } from './cluster.js';

const fixture = useNemesis();

/** Marks a node down at its first failure and probes it often: the test sees the return soon. */
const FAST: ClientOptions = { timeout: 2000, failureThreshold: 1, probeInterval: 100 };

function connect(urls: string[], options: ClientOptions = {}): DistributedCacheClient {
  const client = new DistributedCacheClient(urls, { ...FAST, ...options });
  return fixture.keep(client);
}

const KEYS = Array.from({ length: 200 }, (_, i) => `restore:${i}`);

/** The keys whose natural replicas (replicas 2) on `ring` include `url`. */
function shareOf(ring: HashRing, url: string, keys: readonly string[]): string[] {
  return keys.filter((key) => ring.getN(key, 2).includes(url));
}

/** A key named `prefix:<i>` whose natural replicas include `url`. */
function keyOn(ring: HashRing, url: string, prefix: string): string {
  for (let i = 0; ; i++) if (ring.getN(`${prefix}:${i}`, 2).includes(url)) return `${prefix}:${i}`;
}

describe('replication restore', () => {
  it('a node killed and restarted empty gets back every key it is a replica of, a counter too, without a set', async () => {
    const nemesis = await fixture.start({ nodes: 3 });
    const urls = nemesis.urls;
    const ring = new HashRing(urls);
    let downs = 0;
    const client = connect(urls, { onNodeDown: () => downs++ });
    expect(await client.setMany(KEYS.map((key) => [key, `v-${key}`]))).toBe(true);
    const counter = keyOn(ring, urls[0]!, 'restore-counter');
    expect(await client.incr(counter, 1, { initial: 10 })).toBe(10);
    expect(await client.incr(counter, 5)).toBe(15);

    await nemesis.kill(0);
    // A read of a key node 0 is primary for fails there once: the node is marked down.
    const first = KEYS.find((key) => ring.getN(key, 2)[0] === urls[0])!;
    expect(await client.get(first)).toBe(`v-${first}`);
    await waitFor(() => downs === 1, 'node 0 to be marked down');
    await nemesis.restart(0, 'empty');

    const share = [...shareOf(ring, urls[0]!, KEYS), counter];
    await waitUntilHeld(urls[0]!, share, "node 0's share restored");
    // The counter's bytes and stamp are the other replica's: the copy of its newest count.
    const other = ring.getN(counter, 2).find((url) => url !== urls[0])!;
    const [, restored, , , , restoredStamp] = await rawGet(urls[0]!, counter);
    const [, kept, , , , keptStamp] = await rawGet(other, counter);
    expect(Buffer.from(restored as Uint8Array).toString()).toBe('15');
    expect(restored).toStrictEqual(kept);
    expect(restoredStamp).toBe(keptStamp);
    const stats = client.getReplicationStats();
    expect(stats.restoresRun).toBe(1);
    expect(stats.restoredKeys).toBeGreaterThanOrEqual(share.length);
    expect((await client.getStats()).replication.restoresRun).toBe(1);
  });

  it('one client of several restores a returned node (the first to claim it)', async () => {
    const nemesis = await fixture.start({ nodes: 3 });
    const urls = nemesis.urls;
    const ring = new HashRing(urls);
    const a = connect(urls);
    const b = connect(urls);
    expect(await a.setMany(KEYS.map((key) => [key, key]))).toBe(true);
    await nemesis.kill(1);
    const first = KEYS.find((key) => ring.getN(key, 2)[0] === urls[1])!;
    await Promise.all([a.get(first), b.get(first)]);
    await nemesis.restart(1, 'empty');
    await waitUntilHeld(urls[1]!, shareOf(ring, urls[1]!, KEYS), "node 1's share restored");
    await waitFor(
      () => a.getReplicationStats().restoresRun + b.getReplicationStats().restoresRun === 1,
      'one restore',
    );
  });

  it('after removeNode, each key the removed node held gets a copy on its new replica, a counter too', async () => {
    const nemesis = await fixture.start({ nodes: 3 });
    const urls = nemesis.urls;
    const before = new HashRing(urls);
    const client = connect(urls);
    expect(await client.setMany(KEYS.map((key) => [key, key]))).toBe(true);
    const counter = keyOn(before, urls[2]!, 'moved-counter');
    expect(await client.incr(counter, 7, { initial: 7 })).toBe(7);
    expect(await client.incr(counter, 1)).toBe(8);

    expect(await client.removeNode(urls[2]!)).toBe(true);
    const after = new HashRing([urls[0]!, urls[1]!]);
    const moved = [...KEYS, counter].filter((key) => before.getN(key, 2).includes(urls[2]!));
    expect(moved.length).toBeGreaterThan(0);
    // With two nodes left every key belongs on both: each gets the copy it lacked.
    for (const url of [urls[0]!, urls[1]!]) {
      const owned = moved.filter((key) => after.getN(key, 2).includes(url));
      await waitUntilHeld(url, owned, `moved keys on ${url}`);
    }
    expect(await client.get(counter)).toBe(8);
    expect(client.getReplicationStats().restoresRun).toBe(1);
  });
});
