// A set refused as too large removes the value it was to replace (memcached's rule, client
// README "Errors") — also on a replica that was down when it was refused.
import { describe, expect, it } from 'vitest';
import { DistributedCacheClient, isOperationRejectedError } from '../../src/index.js';
import { keyWithPrimary } from '../key-with-primary.js';
import { SETTLE_MS } from './scenario.js';
import { useNemesis } from './use-nemesis.js';

const fixture = useNemesis();

describe('a set refused as too large while a replica is partitioned', () => {
  it('the replica does not serve the replaced value once the partition heals', async () => {
    const nemesis = await fixture.start({ nodes: 3 });
    const urls = nemesis.urls;
    const writer = fixture.keep(
      new DistributedCacheClient(urls, { failureThreshold: 1, timeout: 500 }),
    );
    const key = keyWithPrimary(writer, urls[0]!, 'large:');
    const markKey = keyWithPrimary(writer, urls[0]!, 'mark:');
    const holdKey = keyWithPrimary(writer, urls[0]!, 'hold:');
    expect(await writer.set(key, 'v1')).toBe(true);

    nemesis.partition(0);
    expect(await writer.set(markKey, 'x')).toBe(false);
    // A batch to node 0 on the wire (a write's copy to a replica marked down): the large set's
    // copy queues behind it and fails with it, never sent.
    const holding = writer.set(holdKey, 'h');
    await new Promise((resolve) => setImmediate(resolve));
    const refused = await writer.set(key, 'x'.repeat(2 * 1024 * 1024)).catch((error) => error);
    expect(isOperationRejectedError(refused), String(refused)).toBe(true);
    await holding;
    await writer.close();
    nemesis.heal(0);
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS + 1000));
    const reader = fixture.keep(new DistributedCacheClient(urls));
    expect(await reader.get(key)).toBeUndefined();
  });
});
