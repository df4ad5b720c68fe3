// A touch a stand-in applies to a write it holds as a natural replica: node 2 stands in for node 1
// in one client's ring, and is a natural replica of the key in another's, which left node 0 (a
// ring change that clients take at different times). The ring-changed client's write is on node 2
// as a natural replica; the first client's touch restamps it there and hands node 2 a stand-in hint
// naming the touch's stamp, now that write's. Once the hint is delivered, node 2 must keep the
// write (it stood in for the touch, not for the write), or a later fault of the key's other
// replica loses an acknowledged write.
import { describe, expect, it } from 'vitest';
import {
  expectKeptOnNodeTwo,
  resumeAfterHandOff,
  standInOverNaturalCopy,
  standInRings,
} from './stand-in-rings.js';
import { useNemesis } from './use-nemesis.js';

const fixture = useNemesis();
/** Long enough that nothing expires during the test: the touch moves the stamp, not the life. */
const TTL_MS = 60_000;

describe('a touch applied on a stand-in', () => {
  it('leaves the write the stand-in holds as a natural replica once its hint is delivered', async () => {
    const rings = await standInRings(fixture, 'touched', 5000);
    const { before, key } = rings;
    const handedOff = await standInOverNaturalCopy(rings, 'v1', 'v2', TTL_MS);
    // Node 0 touches v1, node 2 (the stand-in) touches v2; node 1's touch times out, and node 2
    // gets the stand-in hint for it.
    expect(await before.touch(key, TTL_MS)).toBe(true);
    await resumeAfterHandOff(rings, handedOff);
    // Node 2 replays the key to node 1 and lets its stand-in copy go: it must keep v2.
    await expectKeptOnNodeTwo(
      fixture,
      rings,
      'v2',
      'node 2 dropped v2 when the touch hint was delivered',
    );
  }, 30_000);
});
