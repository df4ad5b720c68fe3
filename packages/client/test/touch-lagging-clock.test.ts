// A node applies a client-stamped touch only above the entry's stamp (one at or below it was issued
// before that write: late-touch.test.ts). A client whose clock lags the write's — another writer's
// clock a little ahead, within maxClockSkew — has its touch answered so even though it began after
// the write ended: it is sent again above the stamp that stands, as a set is, and a getAndTouch
// whose answering node left the entry as it was touches every replica above it.
import { stampAt } from '@dcache/core';
import { pack } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { DistributedCacheClient } from '../src/index.js';
import { FLAGS_MSGPACK } from '../src/codec.js';
import { waitFor } from './cluster.js';
import type { BatchResult } from '../src/wire.js';
import { rawBatch, rawGet } from './raw-node.js';
import { useNemesis } from './faults/use-nemesis.js';

const fixture = useNemesis();

/** Both replicas hold `key` under one stamp above `ahead`, with a TTL the touch gave (≤ `ttl`). */
async function touchedEverywhere(urls: readonly string[], key: string, ahead: number, ttl: number) {
  let held: BatchResult[] = [];
  await waitFor(
    async () => {
      held = await Promise.all(urls.map((url) => rawGet(url, key)));
      return held.every((result) => typeof result[4] === 'number' && result[4] <= ttl);
    },
    `every replica touched: ${JSON.stringify(held)}`,
    { timeoutMs: 3000, intervalMs: 50 },
  );
  expect(held[0]![5]).toBe(held[1]![5]);
  expect(held[0]![5]).toBeGreaterThan(ahead);
}

/** How far ahead of this client's clock the key is written: within the nodes' maxClockSkew (500). */
const AHEAD_MS = 400;

/**
 * `key` written on every node by a clock AHEAD_MS ahead of this client's; its stamp. Just before
 * the call that finds it: written earlier (the other key's turn, a slow start on a loaded machine),
 * this client's clock would have caught up by then, and the touch would simply apply.
 */
async function writtenAhead(urls: readonly string[], key: string): Promise<number> {
  const ahead = stampAt(Date.now() + AHEAD_MS);
  const copy = ['copy', key, pack('v'), FLAGS_MSGPACK, 600_000, ahead, 'repair'] as const;
  await Promise.all(urls.map((url) => rawBatch(url, [copy])));
  return ahead;
}

describe('a touch from a client whose clock lags the write it finds', () => {
  it('touch and getAndTouch still give every replica the new TTL, under one stamp', async () => {
    const nemesis = await fixture.start({ nodes: 2 });
    const urls = nemesis.urls;
    const cache = fixture.keep(new DistributedCacheClient(urls, { replicas: 2 }));
    // Its connections made first: the calls below go out at once.
    expect(await cache.get('warm')).toBeUndefined();

    let ahead = await writtenAhead(urls, 'touch');
    expect(await cache.touch('touch', 5000)).toBe(true);
    await touchedEverywhere(urls, 'touch', ahead, 5000);
    expect(cache.getReplicationStats().restampedWrites).toBeGreaterThan(0);

    ahead = await writtenAhead(urls, 'gat');
    expect(await cache.getAndTouch('gat', 5000)).toBe('v');
    await touchedEverywhere(urls, 'gat', ahead, 5000);
  });
});
