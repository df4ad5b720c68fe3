// Reads of entries a node cannot vouch for (issue #17, requirement 1c): a node restarted from its
// snapshot serves nothing stale to a process that never saw the writes it missed.
import { describe, expect, it } from 'vitest';
import { HashRing } from '@dcache/ring';
import { DistributedCacheClient } from '../src/index.js';
import { useNemesis } from './faults/use-nemesis.js';
import type { BatchResult } from '../src/wire.js';
import { rawBatch, rawGet, rawGets } from './raw-node.js';

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

  it('a counter restored stale on its primary is never counted there: incr answers the current count, and the primary holds it when incr returns', async () => {
    const nemesis = await fixture.start({ nodes: 3, snapshots: true });
    const urls = nemesis.urls;
    const key = keyWithPrimary(urls, 'counter', 0);
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
    // Neither the first client's restore nor the replica's hint, copying an older count that
    // landed after this incr, is what the primary holds now.
    const held = await rawGet(urls[0]!, key);
    expect(held[0]).toBe(200);
    expect(held[6], 'verified').not.toBe(true);
    expect(textOf(held)).toBe('16');
  });

  it('a copy of the previous count reaching the primary after an incr it refused loses to the count the incr gave it', async () => {
    const nemesis = await fixture.start({ nodes: 3, snapshots: true });
    const urls = nemesis.urls;
    const key = keyWithPrimary(urls, 'late-copy', 0);
    const replica = urls.indexOf(new HashRing(urls).getN(key, 2)[1]!);
    const seeder = new DistributedCacheClient(urls);
    expect(await seeder.incr(key, 1, { initial: 10 })).toBe(10);
    // Gone before the primary stops: no client restores it or holds a hint for it.
    await seeder.close();
    await nemesis.stop(0);
    // Counted where the primary cannot see it, and no hint records it: only the primary's
    // restart from its snapshot makes its copy doubtful (unverified).
    const seeded = await rawGet(urls[replica]!, key);
    const [counted] = await rawBatch(urls[replica]!, [
      ['incr', key, 5, null, null, (seeded[5] as number) + 1, true],
    ]);
    expect(counted![1]).toBe(15);
    await nemesis.restart(0, 'snapshot');
    expect((await rawGet(urls[0]!, key))[6], 'the primary holds 10, unverified').toBe(true);
    // What a restore (or hint) reading the replica now would copy to the primary later.
    const previous = await rawGet(urls[replica]!, key);
    expect(textOf(previous)).toBe('15');

    const other = new DistributedCacheClient(urls);
    fixture.keep(other);
    expect(await other.incr(key, 1)).toBe(16);
    // From here on the replica's hint replay cannot bring the primary up to date.
    nemesis.pause(replica);
    try {
      const late = await copyAsRestore(urls[0]!, key, previous);
      expect(late[0], 'the late copy of the previous count').toBe(412);
      expect(await other.get(key)).toBe(16);
      const held = await rawGet(urls[0]!, key);
      expect(held[6], 'verified').not.toBe(true);
      expect(textOf(held)).toBe('16');
    } finally {
      nemesis.resume(replica);
    }
  });

  it('a touch the restored primary refused reaches it before touch returns: a late copy of the old TTL loses', async () => {
    const nemesis = await fixture.start({ nodes: 3, snapshots: true });
    const urls = nemesis.urls;
    const key = keyWithPrimary(urls, 'touched', 0);
    const seeder = new DistributedCacheClient(urls);
    expect(await seeder.set(key, 'v', { ttl: 600_000 })).toBe(true);
    await seeder.close();
    await nemesis.stop(0);
    await nemesis.restart(0, 'snapshot');
    const previous = await rawGet(urls[0]!, key);
    expect(previous[6], 'the restored copy is unverified').toBe(true);

    const other = new DistributedCacheClient(urls);
    fixture.keep(other);
    expect(await other.touch(key, 30_000)).toBe(true);
    const held = await rawGet(urls[0]!, key);
    expect(held[6], 'verified').not.toBe(true);
    expect(held[4] as number).toBeLessThanOrEqual(30_000);
    const late = await copyAsRestore(urls[0]!, key, previous);
    expect(late[0], 'the late copy with the old TTL').toBe(412);
    expect((await rawGet(urls[0]!, key))[4] as number).toBeLessThanOrEqual(30_000);
  });
});

/** The first key `prefix:i` whose primary is node `index` of `urls`. */
function keyWithPrimary(urls: readonly string[], prefix: string, index: number): string {
  const ring = new HashRing(urls);
  let i = 0;
  while (ring.getN(`${prefix}:${i}`, 2)[0] !== urls[index]) i++;
  return `${prefix}:${i}`;
}

/**
 * Sends `url` what a restore would copy of the get result `read` (another node's, or this one's
 * earlier): its bytes, flags, remaining TTL (none: 0) and stamp. Resolves to the copy's result.
 */
async function copyAsRestore(url: string, key: string, read: BatchResult): Promise<BatchResult> {
  const [, bytes, flags, , ttl, stamp] = read;
  const [result] = await rawBatch(url, [
    [
      'copy',
      key,
      bytes as Uint8Array,
      flags as number,
      (ttl as number | null) ?? 0,
      stamp as number,
      'restore',
    ],
  ]);
  return result!;
}

/** A get result's value as text. */
function textOf(result: BatchResult): string {
  return Buffer.from(result[1] as Uint8Array).toString();
}
