// Hinted handoff (issue #17, requirements 1a and 4): what a paused replica missed reaches it when
// it answers again, by the replicas that took the writes, without any read or later write.
import { describe, expect, it } from 'vitest';
import { isStamp } from '@dcache/core';
import { HashRing } from '@dcache/ring';
import { decodeValue } from '../src/codec.js';
import { DistributedCacheClient } from '../src/index.js';
import { useNemesis } from './faults/use-nemesis.js';
import { nodeCounter, rawGet, rawGets } from './raw-node.js';
import { waitFor } from './cluster.js';

const fixture = useNemesis();

/** Node 0's `--stall-threshold`, and how long it is paused at least (a stall it notices). */
const STALL_MS = 2000;
const PAUSE_MS = STALL_MS + 500;

describe('hinted handoff', () => {
  it('a replica paused (SIGSTOP) while its keys are overwritten and deleted holds the new values and tombstones soon after SIGCONT', async () => {
    // Node 0 is paused longer than the threshold, so it fences itself on SIGCONT; the stalls a
    // loaded machine causes (about 1.2 s at most, nemesis.ts) stay below it.
    const nemesis = await fixture.start({ nodes: 3, stallThresholdMs: STALL_MS });
    const urls = nemesis.urls;
    const ring = new HashRing(urls);
    const client = new DistributedCacheClient(urls, {
      // Marks node 0 down at its first timeout; the live nodes must answer within it too, and a
      // loaded machine made them miss 500 ms (a delete rejected: both replicas timed out).
      timeout: 2000,
      failureThreshold: 1,
      probeInterval: 100,
    });
    fixture.keep(client);
    const keys = Array.from({ length: 120 }, (_, i) => `hint:${i}`);
    expect(await client.setMany(keys.map((key) => [key, 'v0']))).toBe(true);
    const share = keys.filter((key) => ring.getN(key, 2).includes(urls[0]!));
    const overwritten = share.slice(0, Math.ceil(share.length / 2));
    const deleted = share.slice(overwritten.length);
    expect(deleted.length).toBeGreaterThan(0);

    nemesis.pause(0);
    const pausedAt = performance.now();
    // The first write to node 0 times out and marks it down (failureThreshold 1): if node 0 was
    // that key's primary, the set is only partly done (false). The rest go to stand-ins.
    const stored: boolean[] = [];
    for (const key of overwritten) stored.push(await client.set(key, 'v1'));
    expect(stored.filter((done) => !done).length, 'sets not done').toBeLessThanOrEqual(1);
    for (const key of deleted) expect(await client.delete(key)).toBe(true);
    await waitFor(() => client.getReplicationStats().hintsHandedOff >= share.length, 'hints', {
      timeoutMs: 5000,
    });
    await new Promise((resolve) => setTimeout(resolve, pausedAt + PAUSE_MS - performance.now()));
    nemesis.resume(0);

    // Within the settle time (the tests may wait 5 s): every overwrite and delete is on node 0,
    // verified (node 0 fenced itself on the stall; an applied copy is verified).
    await waitFor(
      async () => {
        const results = await rawGets(urls[0]!, share);
        return results.every((result, i) => {
          if (deleted.includes(share[i]!)) return result[0] === 404 && isStamp(result[1]);
          if (result[0] !== 200 || result[6] === true) return false;
          return decodeValue(result[1] as Uint8Array, result[2] as number) === 'v1';
        });
      },
      'node 0 to hold what it missed',
      { timeoutMs: 5000, intervalMs: 100 },
    );
    expect(
      (await nodeCounter(urls[1]!, 'hintsReplayed')) +
        (await nodeCounter(urls[2]!, 'hintsReplayed')),
    ).toBeGreaterThan(0);
    expect(
      await nodeCounter(urls[0]!, 'stalls'),
      'node 0 noticed its pause',
    ).toBeGreaterThanOrEqual(1);
    // And every process reads the new state from now on, node 0 first or not.
    const reader = new DistributedCacheClient(urls);
    fixture.keep(reader);
    for (const key of overwritten) expect(await reader.get(key)).toBe('v1');
    for (const key of deleted) expect(await reader.get(key)).toBeUndefined();
  });

  it("a stand-in's copy goes when its hints turn into a fence (a hinted key it no longer held), so no later fault serves it", async () => {
    const nemesis = await fixture.start({ nodes: 3 });
    const [a, b, c] = nemesis.urls as [string, string, string];
    const ring = new HashRing(nemesis.urls);
    /**
     * Keys whose natural replicas are node 0, their primary (so a read reaches it and finds it
     * down), and node 1: node 2 stands in while node 0 is down.
     */
    const onAandB = (prefix: string): string => {
      for (let n = 0; ; n++) {
        const key = `${prefix}:${n}`;
        const [first, second] = ring.getN(key, 2);
        if (first === a && second === b) return key;
      }
    };
    const kept = onAandB('kept');
    const expiring = onAandB('expiring');
    const client = fixture.keep(
      new DistributedCacheClient(nemesis.urls, { failureThreshold: 1, probeInterval: 100 }),
    );
    expect(await client.set(kept, 'v0')).toBe(true);
    await nemesis.kill(0);
    await waitFor(async () => {
      await client.get(kept);
      return (await client.getStats()).nodes.some((node) => node.node === a && !node.up);
    }, 'node 0 marked down');
    expect(await client.set(kept, 'v1')).toBe(true);
    expect(await client.set(expiring, 'x', { ttl: 300 })).toBe(true);
    await waitFor(() => client.getReplicationStats().hintsHandedOff >= 2, 'the hints handed off');
    // Stand-ins are asked first: node 2 holds both hints, and the first key as a stand-in.
    expect(await nodeCounter(c, 'hintsPending')).toBe(2);
    expect((await rawGet(c, kept))[0]).toBe(200);
    // The second key expires on the stand-in, which then cannot hand it over: it fences node 0.
    await new Promise((resolve) => setTimeout(resolve, 500));
    await nemesis.restart(0, 'empty');
    await waitFor(async () => (await nodeCounter(c, 'hintsDropped')) >= 2, 'the hints dropped', {
      timeoutMs: 10_000,
    });
    await waitFor(async () => (await nodeCounter(a, 'fences')) >= 1, 'node 0 fenced', {
      timeoutMs: 10_000,
    });
    // Its copy of the first key, held only as a stand-in, is gone with the hint.
    expect((await rawGet(c, kept))[0]).toBe(404);
    expect(await client.get(kept)).toBe('v1');
  }, 40_000);
});
