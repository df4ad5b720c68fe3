// A replace (or compare-and-set, or add) whose primary's request failed is decided by the next
// replica. When that one is the last replica asked, no copy follows — yet the primary still missed
// the write and must get a hint, or, back from a partition, it serves the value the replace
// replaced to every read (reads ask it first), for good.
import { describe, expect, it } from 'vitest';
import { DistributedCacheClient } from '../../src/index.js';
import { keyWithPrimary } from '../key-with-primary.js';
import { SETTLE_MS } from './scenario.js';
import { useNemesis } from './use-nemesis.js';

const fixture = useNemesis();

describe('a replace decided by the last replica after the primary failed', () => {
  it('the primary reads the replace once the partition heals', async () => {
    const nemesis = await fixture.start({ nodes: 2 });
    const urls = nemesis.urls;
    // Node 0 is never marked down: its request only times out, as in a partition the client has
    // yet to notice.
    const writer = fixture.keep(
      new DistributedCacheClient(urls, { failureThreshold: 100, timeout: 500 }),
    );
    const key = keyWithPrimary(writer, urls[0]!, 'decided-last:');
    const holdKey = keyWithPrimary(writer, urls[0]!, 'hold:');
    expect(await writer.set(key, 'v1')).toBe(true);

    nemesis.partition(0);
    // A batch to node 0 on the wire: the replace queues behind it and fails with it, never sent
    // (sent, TCP would deliver it once the partition heals).
    const holding = writer.set(holdKey, 'h');
    // Decided by node 1, the last replica: no copy follows.
    expect(await writer.replace(key, 'v2')).toBe(true);
    await holding;
    await writer.close();

    nemesis.heal(0);
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS + 1000));
    const reader = fixture.keep(new DistributedCacheClient(urls));
    expect(reader.nodesFor(key)[0]).toBe(urls[0]);
    expect(await reader.get(key)).toBe('v2');
  });
});
