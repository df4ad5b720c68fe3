// A read whose primary timed out and whose next replica holds the key unverified: the check of
// that copy does not wait for the hung primary a second time.
import { describe, expect, it } from 'vitest';
import { DistributedCacheClient } from '../src/index.js';
import { useNemesis } from './faults/use-nemesis.js';
import { rawGet } from './raw-node.js';

const fixture = useNemesis();

describe('verification after a failover', () => {
  it('costs one timeout of a hung primary, not two', async () => {
    const nemesis = await fixture.start({ nodes: 3 });
    const [a, b] = nemesis.urls as [string, string, string];
    // The primary stays up in the client's eyes (no failure threshold reached) and in line.
    const client = fixture.keep(
      new DistributedCacheClient(nemesis.urls, { timeout: 400, failureThreshold: 100 }),
    );
    let key = '';
    for (let i = 0; key === '' && i < 10_000; i++) {
      const [first, second] = client.nodesFor(`vaf:${i}`);
      if (first === a && second === b) key = `vaf:${i}`;
    }
    expect(await client.set(key, 'v')).toBe(true);
    const fenced = await fetch(`${b}/v1/fence`, {
      method: 'POST',
      signal: AbortSignal.timeout(5000),
    });
    expect(fenced.status).toBeLessThan(300);
    expect((await rawGet(b, key))[6], 'unverified on the second replica').toBe(true);

    nemesis.pause(0);
    let elapsed: number;
    try {
      const start = performance.now();
      // No natural replica can vouch (the primary hangs): a miss, as documented.
      expect(await client.get(key)).toBeUndefined();
      elapsed = performance.now() - start;
    } finally {
      nemesis.resume(0);
    }
    expect(elapsed, 'one timeout (400 ms), not two').toBeLessThan(750);
  });
});
