// Stamps on the read path (issue #17, no fault): read repair is a newest-wins copy carrying the
// value's stamp, and a copy older than a tombstone another replica holds is never served.
import { describe, expect, it } from 'vitest';
import { isStamp, stampAt } from '@dcache/core';
import { HashRing } from '@dcache/ring';
import { encodeValue } from '../src/codec.js';
import { DistributedCacheClient } from '../src/index.js';
import { useNemesis } from './faults/use-nemesis.js';
import { rawBatch, rawGet, rawGets } from './raw-node.js';

const fixture = useNemesis();

/** Nothing is marked down: every request goes where the ring says. */
function connect(urls: string[]): DistributedCacheClient {
  const client = new DistributedCacheClient(urls, { failureThreshold: 1000, timeout: 5000 });
  return fixture.keep(client);
}

describe('stamps on the read path', () => {
  it("a replica copy older than the primary's tombstone is a miss, and the tombstone is copied to it", async () => {
    const nemesis = await fixture.start({ nodes: 2 });
    const urls = nemesis.urls;
    const [primary, replica] = new HashRing(urls).getN('stale:k', 2) as [string, string];
    const client = connect(urls);
    expect(await client.set('stale:k', 'old')).toBe(true);
    // The delete reached the primary only (the replica's copy of it is still on its way).
    const [, , , , , oldStamp] = await rawGet(replica, 'stale:k');
    const deletedAt = (oldStamp as number) + 1000;
    await rawBatch(primary, [['delete', 'stale:k', deletedAt]]);

    expect(await client.get('stale:k')).toBeUndefined();
    expect(client.getReplicationStats().staleReadsPrevented).toBe(1);
    await client.close();
    const [onReplica] = await rawGets(replica, ['stale:k']);
    expect(onReplica![0]).toBe(404);
    expect(onReplica![1]).toBe(deletedAt);
  });

  it('read repair copies the value with its stamp to a replica that lost it, and never over a newer write', async () => {
    const nemesis = await fixture.start({ nodes: 2 });
    const urls = nemesis.urls;
    const ring = new HashRing(urls);
    const client = connect(urls);
    expect(await client.set('repair:k', 'v')).toBe(true);
    const [primary, replica] = ring.getN('repair:k', 2) as [string, string];
    const primaryIndex = urls.indexOf(primary);
    await nemesis.kill(primaryIndex);
    await nemesis.restart(primaryIndex, 'empty');

    expect(await client.getVersioned('repair:k')).toMatchObject({ value: 'v' });
    const [, , , , , kept] = await rawGet(replica, 'repair:k');
    const [repaired] = await rawGets(primary, ['repair:k']);
    expect(repaired![0]).toBe(200);
    expect(repaired![5]).toBe(kept);
    expect(client.getReplicationStats().repairs).toBeGreaterThanOrEqual(1);

    // A repair that arrives after a newer write loses to it: the copy is refused (412).
    const [newer] = await rawBatch(primary, [
      ['set', 'repair:k', new Uint8Array([1]), 0, null, null, (kept as number) + 5000],
    ]);
    expect(newer![0]).toBe(204);
    const [refused] = await rawBatch(primary, [
      ['copy', 'repair:k', new Uint8Array([2]), 0, 0, kept as number, 'repair'],
    ]);
    expect(refused![0]).toBe(412);
    expect(isStamp(refused![1])).toBe(true);
  });

  it("stamps above the clock of the nodes it talked to (Dcache-Clock): its write wins over one stamped ahead by another process's clock", async () => {
    const nemesis = await fixture.start({ nodes: 1 });
    const [url] = nemesis.urls as [string];
    // Another writer whose clock runs 450 ms ahead (within the nodes' 500 ms maxClockSkew).
    const { bytes, flags } = encodeValue('theirs');
    const ahead = stampAt(Date.now() + 450);
    const [stored] = await rawBatch(url, [['set', 'clock:k', bytes, flags, null, null, ahead]]);
    expect(stored![0]).toBe(204);
    const client = connect([url]);
    // Any batch answer carries the node's clock, which has seen that stamp.
    expect(await client.get('clock:other')).toBeUndefined();
    expect(await client.set('clock:k', 'mine')).toBe(true);
    expect(await client.get('clock:k')).toBe('mine');
    const [, , , , , stamp] = await rawGet(url, 'clock:k');
    expect(stamp).toBeGreaterThan(ahead);
  });
});
