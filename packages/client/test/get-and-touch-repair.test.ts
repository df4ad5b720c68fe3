// A getAndTouch whose primary lacks the key (it evicted it, or a hint for it was lost) is answered
// by the next replica, and the read's repair copies the value to the primary. When the node that
// answered touched the key, the copy carries the touch. When it left the entry as it was, the copy
// does not, and the primary must be touched as well, after the copy lands:
// - the node held a write stamped at or above the touch (by a writer whose clock is ahead of this
//   client's, within maxClockSkew): the copy carries the old TTL, and past a shorter new one the
//   primary serves the value the other replica has expired;
// - the node could not vouch for the entry (unverified: a snapshot restore, a stall): it answers
//   with the TTL asked for, so the copy carries that, but under the write's own stamp, while the
//   other replica is touched above it — a compareAndSet's version read on one then never matches
//   the other.
import { stampAt } from '@dcache/core';
import { pack } from 'msgpackr';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { DistributedCacheClient } from '../src/index.js';
import { FLAGS_MSGPACK } from '../src/codec.js';
import { useNemesis } from './faults/use-nemesis.js';
import { keyWithPrimary } from './key-with-primary.js';
import { rawBatch, rawGet } from './raw-node.js';

const fixture = useNemesis();

const WRITE_TTL_MS = 600_000;
/** The new, shorter TTL the getAndTouch sets; past it the key must be gone everywhere. */
const TOUCH_TTL_MS = 1000;
/** How far ahead of this client's clock the 'ahead' write is stamped: within maxClockSkew (500). */
const AHEAD_MS = 400;

async function fence(url: string): Promise<void> {
  const response = await fetch(`${url}/v1/fence`, {
    method: 'POST',
    signal: AbortSignal.timeout(5000),
  });
  expect(response.status).toBeLessThan(300);
}

/** How the replica that answers comes to leave the entry as it was. */
const ANSWERER = {
  ahead: { stampedAt: () => stampAt(Date.now() + AHEAD_MS), fenced: false },
  unverified: { stampedAt: () => stampAt(Date.now()), fenced: true },
};

describe('a getAndTouch whose read repairs a replica that missed the key', () => {
  const cases = (Object.keys(ANSWERER) as (keyof typeof ANSWERER)[]).flatMap((kind) =>
    [true, false].map((batch) => [kind, batch] as const),
  );
  it.each(cases)(
    '(%s answerer, batch: %s) gives the repaired replica the new TTL too, under the same stamp',
    async (kind, batch) => {
      const { stampedAt, fenced } = ANSWERER[kind];
      const nemesis = await fixture.start({ nodes: 2 });
      const [zero, one] = nemesis.urls as [string, string];
      const options = { replicas: 2, batch, onBackgroundError: () => {} };
      const toucher = fixture.keep(new DistributedCacheClient(nemesis.urls, options));
      const key = keyWithPrimary(toucher, zero, 'gat-repair:');
      // Its connections made first: the getAndTouch goes out at once, while the 'ahead' write is
      // still ahead of this client's clock.
      expect(await toucher.get('warm')).toBeUndefined();

      // Only the second replica holds the key: the primary lost it without a tombstone.
      const copy = ['copy', key, pack('v'), FLAGS_MSGPACK, WRITE_TTL_MS, stampedAt(), 'repair'];
      expect((await rawBatch(one, [copy as never]))[0]![0]).toBe(204);
      if (fenced) {
        await fence(one);
        expect((await rawGet(one, key))[6], 'unverified').toBe(true);
      }
      expect((await rawGet(zero, key))[0]).toBe(404);

      expect(await toucher.getAndTouch(key, TOUCH_TTL_MS)).toBe('v');
      const touchedAt = Date.now();
      // Lets the repair and the background touches land.
      await toucher.close();

      const held = await Promise.all([rawGet(zero, key), rawGet(one, key)]);
      for (const [i, result] of held.entries()) {
        expect(result[0], `node ${i} holds the key`).toBe(200);
        expect(
          result[4],
          `node ${i}'s TTL, the getAndTouch's: ${JSON.stringify(result)}`,
        ).toBeTypeOf('number');
        expect(result[4] as number, `node ${i}'s TTL`).toBeLessThanOrEqual(TOUCH_TTL_MS);
      }
      // One stamp on both: a compareAndSet's version read from either matches the other.
      expect(held[0]![5], 'the repaired replica holds the key under the touched stamp').toBe(
        held[1]![5],
      );

      await sleep(Math.max(0, touchedAt + TOUCH_TTL_MS + 300 - Date.now()));
      const reader = fixture.keep(new DistributedCacheClient(nemesis.urls, { replicas: 2 }));
      expect(
        await reader.get(key),
        'served past the TTL the getAndTouch set, by the replica the read repaired',
      ).toBeUndefined();
    },
    30_000,
  );
});
