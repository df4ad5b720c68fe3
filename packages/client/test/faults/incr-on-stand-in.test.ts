// An incr a stand-in applies to a counter it holds as a natural replica: node 2 stands in for node
// 1 in one client's ring, and is a natural replica of the key in another's, which left node 0 (a
// ring change that clients take at different times). The ring-changed client's counter is on node
// 2 as a natural replica; the first client's incr counts on it there, restamping it, and hands
// node 2 a stand-in hint naming the incr's stamp, now that counter's. Once the hint is delivered,
// node 2 must keep the counter (it stood in for the incr, not for the write it counts on), or the
// changed ring is one copy short and a later fault of the key's other replica loses the count.
import { describe, expect, it } from 'vitest';
import {
  expectKeptOnNodeTwo,
  holds,
  resumeAfterHandOff,
  standInOverNaturalCopy,
  standInRings,
} from './stand-in-rings.js';
import { useNemesis } from './use-nemesis.js';

const fixture = useNemesis();
/** Long enough that nothing expires during the test. */
const TTL_MS = 60_000;

describe('an incr applied on a stand-in', () => {
  it('leaves the counter the stand-in holds as a natural replica once its hint is delivered', async () => {
    const rings = await standInRings(fixture, 'counted', 5000);
    const { urls, before, key } = rings;
    const two = urls[2];
    const handedOff = await standInOverNaturalCopy(rings, 100, 10, TTL_MS);
    // Node 0 counts 100 to 101, node 2 (the stand-in) 10 to 11; node 1's incr times out, and node
    // 2 gets the stand-in hint for it.
    expect(await before.incr(key)).toBe(101);
    expect(await holds(two, key, '11')).toBe(true);
    await resumeAfterHandOff(rings, handedOff);
    // Node 2 replays the counter to node 1 and lets its stand-in copy go: it must keep 11.
    await expectKeptOnNodeTwo(
      fixture,
      rings,
      11,
      'node 2 dropped its counter when the incr hint was delivered',
    );
  }, 30_000);
});
