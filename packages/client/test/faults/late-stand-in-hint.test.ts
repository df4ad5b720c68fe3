// A stand-in's hint that reaches it after the ring changed: node 2 stands in for node 1 in one
// client's ring, and is a natural replica of the key in another's, which left node 0 (a ring
// change that clients take at different times). The ring-changed client's newer write lands on
// node 2 before the first client's stand-in hint does: once delivered, that hint must drop only
// the stand-in's copy — the write it stood in for — never the natural replica's newer one, or a
// later fault of the key's other replica loses the newer write.
import { describe, expect, it } from 'vitest';
import { eventually } from './node-http.js';
import { expectKeptOnNodeTwo, holds, markNodeOneDown, standInRings } from './stand-in-rings.js';
import { useNemesis } from './use-nemesis.js';

const fixture = useNemesis();

describe('a stand-in hint delivered after the stand-in became a natural replica', () => {
  it('keeps the newer write it took as a natural replica', async () => {
    // The changed ring's writes wait for node 1 through the pause below (a long timeout): they
    // miss no replica, so no hint.
    const rings = await standInRings(fixture, 'moved', 10_000);
    const { nemesis, urls, before, after, key } = rings;
    const two = urls[2];

    await markNodeOneDown(rings);
    // Node 0 and the stand-in take it; node 1's copy is sent anyway and times out after 500 ms,
    // and only then are the hints handed over: node 2 gets a stand-in hint for node 1, late
    // enough for the next write to be there first.
    expect(await before.set(key, 'v1')).toBe(true);
    // Meanwhile the other client writes the key anew: node 2 acknowledges at once; the primary,
    // node 1, at SIGCONT.
    const newer = after.set(key, 'v2');
    expect(await eventually(() => holds(two, key, 'v2'), 5000)).toBe(true);
    expect(
      await eventually(async () => before.getReplicationStats().hintsHandedOff >= 2, 5000),
    ).toBe(true);

    nemesis.resume(1);
    expect(await newer).toBe(true);
    // Node 2 replays the key to node 1 and lets its stand-in copy go: it must keep the newer write.
    await expectKeptOnNodeTwo(
      fixture,
      rings,
      'v2',
      'node 2 dropped v2 when the hint was delivered',
    );
  }, 30_000);
});
