// Two writers' clocks can issue the same stamp: both stamp a write in the same millisecond, and
// neither has yet seen the other's. A tie goes to a tombstone, then to the greater value — an
// order every node agrees on, but not the order the writes happened in. A set that began after
// the tying write ended must still be what the next read sees.
import { describe, expect, it } from 'vitest';
import { stampAt, stampTime } from '@dcache/core';
import { encodeValue } from '../src/codec.js';
import { DistributedCacheClient } from '../src/index.js';
import type { WriteConsistency } from '../src/index.js';
import type { BatchOp } from '../src/wire.js';
import { useNemesis } from './faults/use-nemesis.js';
import { rawBatch } from './raw-node.js';

const fixture = useNemesis();

/** How far ahead of the wall clock the tie is placed: inside the client's 500 ms skew limit. */
const AHEAD_MS = 450;
/** Setups whose set came after the wall clock caught up (no tie then) are run again. */
const ATTEMPTS = 5;

async function onEveryNode(urls: readonly string[], op: BatchOp): Promise<void> {
  for (const url of urls) {
    const [result] = await rawBatch(url, [op]);
    // A delete of an absent key answers 404 and still leaves its tombstone.
    expect(result![0], `${url}: ${JSON.stringify(result)}`).toBeLessThan(405);
  }
}

/**
 * Makes the client's next write tie with `earlier` (a write stored on every node at the stamp the
 * client will issue next), sets `key` to `'aaa'` and returns what the client then reads. The
 * client's clock is pulled ahead of the wall clock by a node's clock header, so its next tick is
 * one above it, whatever millisecond the set is sent in — as long as the wall clock has not
 * caught up by then, which the caller checks.
 */
async function setTiedWith(
  client: DistributedCacheClient,
  urls: readonly string[],
  key: string,
  earlier: (key: string, stamp: number) => BatchOp,
): Promise<{ read: unknown; tied: boolean }> {
  const ahead = stampAt(Date.now() + AHEAD_MS);
  // Every node's clock at `ahead`; the client observes it on its next answer.
  const clockKey = `${key}:clock`;
  const pulled = encodeValue('pull');
  await onEveryNode(urls, ['set', clockKey, pulled.bytes, pulled.flags, null, null, ahead]);
  await client.get(clockKey);
  // The write the client's set will tie with: stamped `ahead + 1`, the client's next tick.
  await onEveryNode(urls, earlier(key, ahead + 1));
  const stored = await client.set(key, 'aaa');
  const tied = Date.now() < stampTime(ahead);
  expect(stored).toBe(true);
  return { read: await client.get(key), tied };
}

const ZZZ = encodeValue('zzz');
const cases: [string, (key: string, stamp: number) => BatchOp][] = [
  [
    'a set of a greater value (ties go to the greater bytes)',
    (key, stamp) => ['set', key, ZZZ.bytes, ZZZ.flags, null, null, stamp],
  ],
  ['a delete (ties go to the tombstone)', (key, stamp) => ['delete', key, stamp]],
];

describe('a set stamped alike with a write that ended before it began', () => {
  for (const writeConsistency of ['one', 'all'] as const satisfies readonly WriteConsistency[]) {
    it.each(cases)(
      `writeConsistency '${writeConsistency}', after %s: the set is what every replica then serves`,
      async (_name, earlier) => {
        const nemesis = await fixture.start({ nodes: 2 });
        const urls = nemesis.urls;
        const client = new DistributedCacheClient(urls, {
          replicas: 2,
          writeConsistency,
          timeout: 5000,
        });
        fixture.keep(client);
        let outcome: { read: unknown; tied: boolean } | undefined;
        let attempt = 0;
        do {
          outcome = await setTiedWith(client, urls, `tie:${attempt}`, earlier);
        } while (!outcome.tied && ++attempt < ATTEMPTS);
        expect(outcome.tied, 'the set was stamped alike with the earlier write').toBe(true);
        expect(outcome.read).toBe('aaa');
        // Under 'one' the set resolved on the primary's answer; the other replica's send may still
        // be on the wire. close() waits for it: then every replica must hold the set.
        await client.close();
        for (const url of urls) {
          const reader = new DistributedCacheClient([url], { timeout: 5000 });
          fixture.keep(reader);
          expect(await reader.get(`tie:${attempt}`), url).toBe('aaa');
        }
      },
    );
  }
});
