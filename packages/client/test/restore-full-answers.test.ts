// A restore of a node that came back empty reads each listed key's value from the node that
// listed it, a page of keys at once: those reads fill that node's batch answers (its
// maxBatchBytes of values), and a get answered 413 is read again in a later batch, not skipped.
import { describe, expect, it } from 'vitest';
import { HashRing } from '@dcache/ring';
import { DistributedCacheClient } from '../src/index.js';
import { useNemesis } from './faults/use-nemesis.js';
import { rawGet } from './raw-node.js';
import { waitFor } from './cluster.js';

const fixture = useNemesis();

describe('restore of big values', () => {
  it('copies every key of the returned node, though each batch answer holds three of them', async () => {
    // 16 KiB of values per batch answer: three 5,000-byte values.
    const nemesis = await fixture.start({ nodes: 3, args: ['--max-batch-bytes', '16kb'] });
    const urls = nemesis.urls;
    const ring = new HashRing(urls);
    let downs = 0;
    const client = fixture.keep(
      new DistributedCacheClient(urls, {
        timeout: 2000,
        failureThreshold: 1,
        probeInterval: 100,
        maxBatchBytes: 12_000,
        onNodeDown: () => downs++,
      }),
    );
    const keys = Array.from({ length: 40 }, (_, i) => `rfa:${i}`);
    const value = new Uint8Array(5000).fill(7);
    expect(await client.setMany(keys.map((key) => [key, value]))).toBe(true);
    const share = keys.filter((key) => ring.getN(key, 2).includes(urls[0]!));
    expect(share.length).toBeGreaterThan(6);

    await nemesis.kill(0);
    const first = keys.find((key) => ring.getN(key, 2)[0] === urls[0])!;
    expect(await client.get(first)).toStrictEqual(value);
    await waitFor(() => downs === 1, 'node 0 to be marked down');
    await nemesis.restart(0, 'empty');
    // One key per batch: the node's answer would hold three of these values.
    let missing = share.length;
    await waitFor(
      async () => {
        const held = await Promise.all(share.map((key) => rawGet(urls[0]!, key)));
        missing = held.filter((result) => result[0] !== 200 || result[6] === true).length;
        return missing === 0;
      },
      "node 0's share restored",
      { timeoutMs: 5000, intervalMs: 100 },
    );
    expect(missing).toBe(0);
  });
});
