// Stamps keep the fraction of the millisecond they were issued in (core's PreciseWallClock): a
// write begun after another client's write ended is stamped above it, even when both fall in one
// millisecond and the other client issued many stamps in it. With whole milliseconds the later
// write was stamped below the burst, lost on its first send, and had to be sent again.
import { describe, expect, it } from 'vitest';
import { DistributedCacheClient } from '../src/index.js';
import { useNemesis } from './faults/use-nemesis.js';

const fixture = useNemesis();
const ROUNDS = 200;
const BURST = 40;

describe('two writers within one millisecond', () => {
  it("the later write stands on its first send, above the other client's burst of stamps", async () => {
    const nemesis = await fixture.start({ nodes: 2 });
    const options = { replicas: 2, writeConsistency: 'all', timeout: 5000 } as const;
    const busy = fixture.keep(new DistributedCacheClient(nemesis.urls, options));
    const later = fixture.keep(new DistributedCacheClient(nemesis.urls, options));
    for (let round = 0; round < ROUNDS; round++) {
      const key = `sub:${round}`;
      // One batch per node: BURST + 1 stamps issued at once, the key's the last of them.
      await Promise.all([
        ...Array.from({ length: BURST }, (_, i) => busy.set(`${key}:${i}`, 'x')),
        busy.set(key, 'earlier'),
      ]);
      expect(await later.set(key, 'later')).toBe(true);
      expect(await later.get(key)).toBe('later');
      expect(await busy.get(key)).toBe('later');
    }
    expect(later.getReplicationStats().restampedWrites).toBe(0);
  });
});
