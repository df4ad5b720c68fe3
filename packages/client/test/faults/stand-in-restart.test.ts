// A write a partitioned replica missed, taken by a stand-in (a node that is not a replica of the
// key) while the client had the replica marked down: the hint for the missed replica must survive
// the stand-in restarting — one fault on the key's replicas (the partition), one on a node that is
// not its replica. The writer is gone before the partition heals, so no client fences the node.
import { describe, expect, it } from 'vitest';
import { DistributedCacheClient } from '../../src/index.js';
import { keyWithPrimary } from '../key-with-primary.js';
import { SETTLE_MS } from './scenario.js';
import { useNemesis } from './use-nemesis.js';

const fixture = useNemesis();

describe('a stand-in restarted while the replica it stood in for is partitioned', () => {
  it('the replica reads the write it missed once the partition heals', async () => {
    const nemesis = await fixture.start({ nodes: 3 });
    const urls = nemesis.urls;
    const writer = fixture.keep(
      new DistributedCacheClient(urls, { failureThreshold: 1, timeout: 500 }),
    );
    // Node 0 is the primary, node 1 the other replica, node 2 the stand-in.
    let key = keyWithPrimary(writer, urls[0]!, 'stood-in:');
    for (let i = 0; writer.nodesFor(key)[1] !== urls[1]; i++) {
      key = keyWithPrimary(writer, urls[0]!, `stood-in-${i}:`);
    }
    expect(await writer.set(key, 'v1')).toBe(true);
    const markKey = keyWithPrimary(writer, urls[0]!, 'mark:');
    const holdKey = keyWithPrimary(writer, urls[0]!, 'hold:');

    nemesis.partition(0);
    // The first write to node 0 times out and marks it down (failureThreshold 1): only partly done.
    expect(await writer.set(markKey, 'x')).toBe(false);
    expect(writer.nodesFor(key)).toEqual([urls[1], urls[2]]);
    // A write to another of node 0's keys keeps a batch to node 0 on the wire (a copy is sent to a
    // natural replica marked down in case it is back): the replace's copy queues behind it and
    // fails with it, never sent. (Sent, TCP would deliver it once the partition heals.)
    const holding = writer.set(holdKey, 'h');
    // Decided by node 1, copied to the stand-in, node 2: both hold it; the stand-in takes node 0's
    // hint, and now node 1 too.
    expect(await writer.replace(key, 'v2')).toBe(true);
    await holding;
    await writer.close();

    await nemesis.restart(2, 'empty');
    nemesis.heal(0);
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS + 1000));
    const reader = fixture.keep(new DistributedCacheClient(urls));
    expect(await reader.get(key)).toBe('v2');
  });
});
