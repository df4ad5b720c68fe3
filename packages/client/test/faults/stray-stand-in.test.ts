// A stand-in (a node that is not a replica of the key) that took a write late — its request timed
// out, so the client handed it no hint and it never drops the copy — must not serve that copy
// once the key's replicas have moved on.
import { describe, expect, it } from 'vitest';
import { DistributedCacheClient } from '../../src/index.js';
import { keyWithPrimary } from '../key-with-primary.js';
import { SETTLE_MS } from './scenario.js';
import { useNemesis } from './use-nemesis.js';

const fixture = useNemesis();
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('a stand-in that took a write after its request timed out', () => {
  it('does not serve the overwritten value later', async () => {
    const nemesis = await fixture.start({ nodes: 3 });
    const urls = nemesis.urls;
    const writer = fixture.keep(
      new DistributedCacheClient(urls, { failureThreshold: 1, timeout: 300 }),
    );
    let key = keyWithPrimary(writer, urls[0]!, 'stray:');
    for (let i = 0; writer.nodesFor(key)[1] !== urls[1]; i++) {
      key = keyWithPrimary(writer, urls[0]!, `stray-${i}:`);
    }
    const markKey = keyWithPrimary(writer, urls[0]!, 'mark:');
    expect(await writer.set(key, 'v1')).toBe(true);

    // Node 0 cut off and marked down: node 2 stands in for it. Node 2 paused too, shorter than
    // its stall threshold (it does not fence itself): the write times out there and lands when it
    // resumes, a copy no hint will make it drop.
    nemesis.partition(0);
    expect(await writer.set(markKey, 'x')).toBe(false);
    nemesis.pause(2);
    expect(await writer.set(key, 'v2')).toBe(true);
    await sleep(500);
    nemesis.resume(2);
    nemesis.heal(0);
    await sleep(SETTLE_MS + 1000);
    // Overwritten on both replicas, then expired there.
    expect(await writer.set(key, 'v3', { ttl: 500 })).toBe(true);
    await writer.close();
    await sleep(800);

    // Node 0 cut off again: a reader that marks it down asks node 1, then the stand-in.
    nemesis.partition(0);
    const reader = fixture.keep(
      new DistributedCacheClient(urls, { failureThreshold: 1, timeout: 300 }),
    );
    await reader.get(markKey).catch(() => undefined);
    expect(reader.nodesFor(key)).toEqual([urls[1], urls[2]]);
    expect(await reader.get(key)).toBeUndefined();
  });
});
