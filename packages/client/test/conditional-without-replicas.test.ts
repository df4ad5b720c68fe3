// add, replace and compareAndSet are decided by a natural replica of the key, never by a stand-in.
import { describe, expect, it } from 'vitest';
import { HashRing } from '@dcache/ring';
import { DistributedCacheClient, isCacheUnavailableError } from '../src/index.js';
import { useNemesis } from './faults/use-nemesis.js';
import { rawGets } from './raw-node.js';

const fixture = useNemesis();

describe('a conditional write while every natural replica of its key is down', () => {
  it('is unavailable, instead of passing on a stand-in that holds nothing of the key', async () => {
    const nemesis = await fixture.start({ nodes: 3 });
    const urls = nemesis.urls;
    const ring = new HashRing(urls);
    // A key whose two replicas are nodes 0 and 1: node 2 is its stand-in once both are down.
    const key = Array.from({ length: 200 }, (_, i) => `cond:${i}`).find(
      (candidate) => !ring.getN(candidate, 2).includes(urls[2]!),
    )!;
    const client = new DistributedCacheClient(urls, {
      timeout: 1000,
      failureThreshold: 1,
      probeInterval: 60_000,
    });
    fixture.keep(client);
    expect(await client.set(key, 'held')).toBe(true);
    const { version } = (await client.getVersioned(key))!;

    nemesis.pause(0);
    nemesis.pause(1);
    // Both replicas time out on this read and are marked down (failureThreshold 1).
    await expect(client.get(key)).rejects.toSatisfy(isCacheUnavailableError);
    expect(client.nodesFor(key)).toEqual([urls[2]]);

    // Before, node 2 decided these alone: the add passed (the key "absent" there), and its hint
    // would have carried the new value over the one the replicas hold.
    await expect(client.add(key, 'new')).rejects.toSatisfy(isCacheUnavailableError);
    await expect(client.replace(key, 'new')).rejects.toSatisfy(isCacheUnavailableError);
    await expect(client.compareAndSet(key, 'new', version)).rejects.toSatisfy(
      isCacheUnavailableError,
    );
    const [onStandIn] = await rawGets(urls[2]!, [key]);
    expect(onStandIn![0]).toBe(404);
  });
});
