// getMany of keys whose primary holds them unverified: each is vouched for by its peer replica as
// a get of the key alone would be, also when the peer's answers to those checks fill its batch
// answer (its maxBatchBytes) and some come back 413.
import { describe, expect, it } from 'vitest';
import { DistributedCacheClient } from '../src/index.js';
import { useNemesis } from './faults/use-nemesis.js';
import { NEWER_BYTES, plantOlderAndNewer } from './raw-node.js';

const fixture = useNemesis();

describe('getMany of unverified entries', () => {
  it("serves every key the peer holds newer, though the peer's answer holds only some of them per batch", async () => {
    // 16 KiB of values per batch answer: three of the peer's 5,000-byte values.
    const nemesis = await fixture.start({ nodes: 3, args: ['--max-batch-bytes', '16kb'] });
    const [a, b] = nemesis.urls as [string, string, string];
    const client = fixture.keep(
      new DistributedCacheClient(nemesis.urls, { maxBatchBytes: 12_000 }),
    );
    const keys: string[] = [];
    for (let i = 0; keys.length < 6 && i < 10_000; i++) {
      const [first, second] = client.nodesFor(`gmu:${i}`);
      if (first === a && second === b) keys.push(`gmu:${i}`);
    }
    expect(keys).toHaveLength(6);
    // The primary holds an old small value, then is fenced (as after a stall); its peer holds the
    // newer, bigger value (the write it missed).
    await plantOlderAndNewer(a, b, keys);
    const fenced = await fetch(`${a}/v1/fence`, {
      method: 'POST',
      signal: AbortSignal.timeout(5000),
    });
    expect(fenced.status).toBeLessThan(300);

    const found = await client.getMany<Uint8Array>(keys);
    expect([...found.keys()]).toStrictEqual(keys);
    for (const value of found.values()) expect(value).toHaveLength(NEWER_BYTES);
    expect(client.getReplicationStats()).toMatchObject({
      staleReadsPrevented: 6,
      unverifiedDropped: 0,
    });
  });
});
