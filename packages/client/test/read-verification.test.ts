// Reads of entries a node cannot vouch for (issue #17, requirement 1c): a node restarted from its
// snapshot serves nothing stale to a process that never saw the writes it missed.
import { describe, expect, it } from 'vitest';
import { HashRing } from '@dcache/ring';
import { DistributedCacheClient } from '../src/index.js';
import { useNemesis } from './faults/use-nemesis.js';
import { rawGets } from './raw-node.js';
import { waitFor } from './cluster.js';

const fixture = useNemesis();

describe('verification of unverified entries', () => {
  it('after a snapshot restart, a new process reads the overwrites and deletes made while the node was down, and the untouched keys', async () => {
    const nemesis = await fixture.start({ nodes: 3, snapshots: true });
    const urls = nemesis.urls;
    const ring = new HashRing(urls);
    // The ring follows the nodes' ephemeral ports, so node 0's share of a fixed key set varies:
    // keys are drawn until node 0 is primary for 60 of them.
    const keys: string[] = [];
    for (let i = 0, onNode0 = 0; onNode0 < 60; i++) {
      keys.push(`verify:${i}`);
      if (ring.getN(`verify:${i}`, 2)[0] === urls[0]) onNode0++;
    }
    const writer = new DistributedCacheClient(urls, { failureThreshold: 1, timeout: 2000 });
    fixture.keep(writer);
    expect(await writer.setMany(keys.map((key) => [key, 'v0']))).toBe(true);
    const primaryOn0 = keys.filter((key) => ring.getN(key, 2)[0] === urls[0]);
    const overwritten = primaryOn0.slice(0, 20);
    const deleted = primaryOn0.slice(20, 40);
    const untouched = primaryOn0.slice(40);
    expect(untouched.length).toBeGreaterThan(0);

    await nemesis.stop(0);
    // The first write to node 0 fails and marks it down (failureThreshold 1); that set, its
    // primary's request failed, is only partly done (false). The rest go to the other replicas.
    const stored: boolean[] = [];
    for (const key of overwritten) stored.push(await writer.set(key, 'v1'));
    expect(stored.filter((done) => !done).length, 'sets not done').toBeLessThanOrEqual(1);
    for (const key of deleted) expect(await writer.delete(key)).toBe(true);
    // The writer is gone before the node returns (the case c).
    await writer.close();
    await nemesis.restart(0, 'snapshot');
    // The restored entries are unverified on node 0 (until a peer vouches or a hint rewrites).
    const [restored] = await rawGets(urls[0]!, [untouched[0]!]);
    expect(restored![0]).toBe(200);
    expect(restored![6]).toBe(true);

    const reader = new DistributedCacheClient(urls);
    fixture.keep(reader);
    for (const key of overwritten) expect(await reader.get(key)).toBe('v1');
    for (const key of deleted) expect(await reader.get(key)).toBeUndefined();
    for (const key of untouched) expect(await reader.get(key)).toBe('v0');
    const stats = reader.getReplicationStats();
    // Each untouched key was read from node 0 first, unverified, and vouched for by its peer.
    expect(stats.verifications).toBeGreaterThanOrEqual(untouched.length);
    expect(stats.unverifiedDropped).toBe(0);
    await reader.close();
    // Vouched for: node 0 now serves them as verified.
    const after = await rawGets(urls[0]!, untouched);
    expect(after.every((result) => result[0] === 200 && result[6] !== true)).toBe(true);
  });

  it('a cluster of one node serves what its snapshot restored: no other node can hold anything newer', async () => {
    const nemesis = await fixture.start({ nodes: 1, snapshots: true });
    const urls = nemesis.urls;
    const writer = new DistributedCacheClient(urls);
    fixture.keep(writer);
    expect(await writer.set('single:k', 'kept')).toBe(true);
    await writer.close();
    await nemesis.stop(0);
    await nemesis.restart(0, 'snapshot');
    const [restored] = await rawGets(urls[0]!, ['single:k']);
    expect(restored![6]).toBe(true);
    const reader = new DistributedCacheClient(urls);
    fixture.keep(reader);
    expect(await reader.get('single:k')).toBe('kept');
    expect(reader.getReplicationStats().unverifiedDropped).toBe(0);
  });

  it('a counter restored stale on its primary is never counted there: incr answers the current count, and the primary catches up', async () => {
    const nemesis = await fixture.start({ nodes: 3, snapshots: true });
    const urls = nemesis.urls;
    const ring = new HashRing(urls);
    let i = 0;
    while (ring.getN(`counter:${i}`, 2)[0] !== urls[0]) i++;
    const key = `counter:${i}`;
    const client = new DistributedCacheClient(urls, { failureThreshold: 1, timeout: 2000 });
    fixture.keep(client);
    expect(await client.incr(key, 1, { initial: 10 })).toBe(10);
    await nemesis.stop(0);
    expect(await client.incr(key, 5)).toBe(15); // on the replica only
    await nemesis.restart(0, 'snapshot'); // holds 10, unverified
    const other = new DistributedCacheClient(urls);
    fixture.keep(other);
    expect(await other.incr(key, 1)).toBe(16);
    expect(await other.get(key)).toBe(16);
    await waitFor(
      async () => {
        const [held] = await rawGets(urls[0]!, [key]);
        return (
          held![0] === 200 &&
          held![6] !== true &&
          Buffer.from(held![1] as Uint8Array).toString() === '16'
        );
      },
      'the primary to hold the current count',
      { timeoutMs: 5000, intervalMs: 100 },
    );
  });
});
