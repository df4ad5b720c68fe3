// A counter created (incr with `initial`) while its primary is cut off: the stand-in that creates
// it with the other replica holds it only until the hint for the primary is delivered, as for any
// write a stand-in takes — a copy it kept would be counted on after the replicas moved on.
import { describe, expect, it } from 'vitest';
import { DistributedCacheClient } from '../../src/index.js';
import { keyWithPrimary } from '../key-with-primary.js';
import { SETTLE_MS } from './scenario.js';
import { useNemesis } from './use-nemesis.js';

const fixture = useNemesis();
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('a counter created while its primary is partitioned', () => {
  it('is not counted on from the stand-in after the replicas overwrote and lost it', async () => {
    const nemesis = await fixture.start({ nodes: 3 });
    const urls = nemesis.urls;
    const options = { failureThreshold: 1, timeout: 500 };
    const writer = fixture.keep(new DistributedCacheClient(urls, options));
    let key = keyWithPrimary(writer, urls[0]!, 'counter:');
    for (let i = 0; writer.nodesFor(key)[1] !== urls[1]; i++) {
      key = keyWithPrimary(writer, urls[0]!, `counter-${i}:`);
    }
    const markKey = keyWithPrimary(writer, urls[0]!, 'mark:');

    nemesis.partition(0);
    expect(await writer.set(markKey, 'x')).toBe(false);
    // Created by node 1 and the stand-in, node 2.
    expect(await writer.incr(key, 1, { initial: 10 })).toBe(10);
    await writer.close();
    nemesis.heal(0);
    await sleep(SETTLE_MS + 1000);

    // Overwritten on the replicas (nodes 0 and 1), and expired there.
    const other = fixture.keep(new DistributedCacheClient(urls));
    expect(await other.set(key, 'gone soon', { ttl: 300 })).toBe(true);
    await other.close();
    await sleep(600);

    nemesis.partition(0);
    const reader = fixture.keep(new DistributedCacheClient(urls, options));
    await reader.get(markKey).catch(() => undefined);
    expect(reader.nodesFor(key)).toEqual([urls[1], urls[2]]);
    expect(await reader.incr(key)).toBeUndefined();
  });
});
