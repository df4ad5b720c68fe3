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

describe('a touch from a client whose clock lags the write it finds', () => {
  it('touch and getAndTouch still give every replica the new TTL, under one stamp', async () => {
    const nemesis = await fixture.start({ nodes: 2 });
    const urls = nemesis.urls;
    const cache = fixture.keep(new DistributedCacheClient(urls, { replicas: 2 }));
    // Written by a clock 300 ms ahead of this client's (within the nodes' maxClockSkew).
    const ahead = stampAt(Date.now() + 300);
    const bytes = pack('v');
    for (const key of ['touch', 'gat']) {
      for (const url of urls) {
        await rawBatch(url, [['copy', key, bytes, FLAGS_MSGPACK, 600_000, ahead, 'repair']]);
      }
    }

    expect(await cache.touch('touch', 5000)).toBe(true);
    await touchedEverywhere(urls, 'touch', ahead, 5000);
    expect(cache.getReplicationStats().restampedWrites).toBeGreaterThan(0);

    expect(await cache.getAndTouch('gat', 5000)).toBe('v');
    await touchedEverywhere(urls, 'gat', ahead, 5000);
  });
});
